//go:build !linux

package media

import (
	"errors"
	"net"
	"net/netip"
)

// Elsewhere sockets stay unconnected: correct, just slower per packet.

func connectUDP(*net.UDPConn, netip.AddrPort) error { return errors.ErrUnsupported }

func disconnectUDP(*net.UDPConn) error { return nil }
