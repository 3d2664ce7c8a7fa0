// Package media is the RTP side of Hotline's call legs: G.711 sessions with
// RFC 4733 and in-band DTMF, prompts and tones, RTCP and quality figures.
//
// The shape comes from what hurt other Go telephony stacks under load
// (see DESIGN.md section 4):
//
//   - One Engine per node owns the RTP port range and the pacers. Settings
//     live in Config; there are no package-level knobs, so engines with
//     different settings can coexist (tenants, tests).
//   - Sessions are clocked by Shards pacer goroutines with one 20 ms ticker
//     each, not a goroutine and a ticker per call. The RTP timestamp follows
//     the wall clock (160 per 20 ms) whether or not anything is sent, so
//     silence, hold and dropped ticks show up as timestamp gaps with the
//     marker bit, never as a clock that slips.
//   - Each session has one UDP socket and one receive goroutine that always
//     drains it (RFC 4733 digits are lost when nobody reads). No RTCP
//     socket on port+1: with rtcp-mux RTCP shares the RTP socket, without it
//     RTCP is not sent. Two sockets per call doubled the descriptors and
//     exhausted the port range of a measured Go stack.
//   - The port search is bounded, wraps around, uses even ports only and
//     reports exhaustion as ErrNoPorts.
//   - Nothing is allocated per packet: headers are marshalled into
//     per-session buffers (rtp.Header.MarshalTo), sent with
//     WriteToUDPAddrPort (or write(2) on the socket connected to the latched
//     peer), parsed with rtp.Header.Unmarshal (which aliases the buffer, so
//     nothing is kept past the packet), and RTCP is read and written by hand
//     because pion/rtcp's Marshal/Unmarshal allocate. Prompts are encoded
//     to both G.711 laws once at load time; a Player costs a copy per packet.
//   - Nothing is logged per packet: errors, garbage and ignored packets are
//     counted in Stats and logged at most once per session.
//
// Goroutine ownership: Run owns the pacers and the OnTimeout callbacks (it
// returns after both finish); a Session owns its receive goroutine (Close
// waits for it). Run does not close sessions; their owner (the call) does.
//
// Measured on the 2-vCPU development VM (go test -bench . -benchmem, and
// TestLoadCPU with HOTLINE_MEDIA_LOAD=500): per-packet work is allocation
// free; 1,000 sessions sending and receiving 50 packets/s each over
// loopback use about 0.045% of a core and 6.7 KB of heap (+2 KB of
// goroutine stack) per session, three quarters of it in the kernel's UDP
// send/receive paths.
package media
