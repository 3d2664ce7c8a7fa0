package ari

import (
	"encoding/json"
	"fmt"
	"time"
)

// TimeFormat is how Asterisk writes every timestamp in ARI (milliseconds
// and a numeric zone without a colon); clients parse exactly this.
const TimeFormat = "2006-01-02T15:04:05.000-0700"

// Time marshals as Asterisk's ARI timestamp.
type Time time.Time

// MarshalJSON writes the time in TimeFormat.
func (t Time) MarshalJSON() ([]byte, error) {
	// The format has nothing JSON must escape: quote it directly (one
	// allocation instead of four, on every event).
	b := make([]byte, 0, len(TimeFormat)+2)
	b = append(b, '"')
	b = time.Time(t).AppendFormat(b, TimeFormat)
	return append(b, '"'), nil
}

// UnmarshalJSON reads TimeFormat (and RFC 3339, which some clients send).
func (t *Time) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("ari time: %w", err)
	}
	v, err := time.Parse(TimeFormat, s)
	if err != nil {
		if v, err = time.Parse(time.RFC3339Nano, s); err != nil {
			return fmt.Errorf("ari time %q: %w", s, err)
		}
	}
	*t = Time(v)
	return nil
}

// CallerID is Asterisk's CallerID model.
type CallerID struct {
	Name   string `json:"name"`
	Number string `json:"number"`
}

// DialplanCEP is where a channel is in the dialplan; for Hotline, the flow
// (context), the dialled number (exten) and the step (priority).
type DialplanCEP struct {
	Context  string `json:"context"`
	Exten    string `json:"exten"`
	Priority int64  `json:"priority"`
	AppName  string `json:"app_name"`
	AppData  string `json:"app_data"`
}

// Channel states, with Asterisk's spelling.
const (
	StateDown    = "Down"
	StateRsrvd   = "Rsrvd"
	StateOffHook = "OffHook"
	StateDialing = "Dialing"
	StateRing    = "Ring"
	StateRinging = "Ringing"
	StateUp      = "Up"
	StateBusy    = "Busy"
)

// Channel is Asterisk's Channel model.
type Channel struct {
	ID           string            `json:"id"`
	Name         string            `json:"name"`
	State        string            `json:"state"`
	Caller       CallerID          `json:"caller"`
	Connected    CallerID          `json:"connected"`
	AccountCode  string            `json:"accountcode"`
	Dialplan     DialplanCEP       `json:"dialplan"`
	CreationTime Time              `json:"creationtime"`
	Language     string            `json:"language"`
	ChannelVars  map[string]string `json:"channelvars,omitempty"`
}

// Bridge is Asterisk's Bridge model.
type Bridge struct {
	ID           string   `json:"id"`
	Technology   string   `json:"technology"`
	BridgeType   string   `json:"bridge_type"`  // mixing or holding
	BridgeClass  string   `json:"bridge_class"` // stasis for application bridges
	Creator      string   `json:"creator"`
	Name         string   `json:"name"`
	Channels     []string `json:"channels"`
	VideoMode    string   `json:"video_mode,omitempty"`
	CreationTime Time     `json:"creationtime"`
}

// Playback is Asterisk's Playback model; State is queued, playing,
// continuing, done or failed.
type Playback struct {
	ID           string `json:"id"`
	MediaURI     string `json:"media_uri"`
	NextMediaURI string `json:"next_media_uri,omitempty"`
	TargetURI    string `json:"target_uri"`
	Language     string `json:"language,omitempty"`
	State        string `json:"state"`
}

// LiveRecording is Asterisk's LiveRecording model; State is queued,
// recording, paused, done, failed or canceled.
type LiveRecording struct {
	Name            string `json:"name"`
	Format          string `json:"format"`
	TargetURI       string `json:"target_uri"`
	State           string `json:"state"`
	Duration        int    `json:"duration,omitempty"`
	TalkingDuration int    `json:"talking_duration,omitempty"`
	SilenceDuration int    `json:"silence_duration,omitempty"`
	Cause           string `json:"cause,omitempty"`
}

// Application is Asterisk's Application model.
type Application struct {
	Name             string           `json:"name"`
	ChannelIDs       []string         `json:"channel_ids"`
	BridgeIDs        []string         `json:"bridge_ids"`
	EndpointIDs      []string         `json:"endpoint_ids"`
	DeviceNames      []string         `json:"device_names"`
	EventsAllowed    []map[string]any `json:"events_allowed"`
	EventsDisallowed []map[string]any `json:"events_disallowed"`
}

// Event is the base every ARI event carries. The hub fills Application
// (per receiving application), Timestamp and AsteriskID when they are empty.
type Event struct {
	Type        string `json:"type"`
	Application string `json:"application"`
	Timestamp   Time   `json:"timestamp"`
	AsteriskID  string `json:"asterisk_id,omitempty"`
}

// base lets the hub reach the Event inside any event type.
func (e *Event) base() *Event { return e }

// Message is any ARI event: a struct that embeds Event.
type Message interface{ base() *Event }

// StasisStart: a channel entered an application.
type StasisStart struct {
	Event
	Args           []string `json:"args"`
	Channel        Channel  `json:"channel"`
	ReplaceChannel *Channel `json:"replace_channel,omitempty"`
}

// StasisEnd: a channel left its application.
type StasisEnd struct {
	Event
	Channel Channel `json:"channel"`
}

// ChannelStateChange: the channel's state changed (Ringing, Up...).
type ChannelStateChange struct {
	Event
	Channel Channel `json:"channel"`
}

// ChannelDtmfReceived: the caller pressed a key; DurationMs is its length.
type ChannelDtmfReceived struct {
	Event
	Digit      string  `json:"digit"`
	DurationMs int     `json:"duration_ms"`
	Channel    Channel `json:"channel"`
}

// ChannelHangupRequest: a hang-up was asked for (Cause is Q.850).
type ChannelHangupRequest struct {
	Event
	Cause   int     `json:"cause,omitempty"`
	Soft    bool    `json:"soft,omitempty"`
	Channel Channel `json:"channel"`
}

// ChannelDestroyed: the channel is gone.
type ChannelDestroyed struct {
	Event
	Cause    int     `json:"cause"`
	CauseTxt string  `json:"cause_txt"`
	Channel  Channel `json:"channel"`
}

// ChannelEnteredBridge: a channel joined a bridge.
type ChannelEnteredBridge struct {
	Event
	Bridge  Bridge   `json:"bridge"`
	Channel *Channel `json:"channel,omitempty"`
}

// ChannelLeftBridge: a channel left a bridge.
type ChannelLeftBridge struct {
	Event
	Bridge  Bridge  `json:"bridge"`
	Channel Channel `json:"channel"`
}

// BridgeCreated: a bridge was made.
type BridgeCreated struct {
	Event
	Bridge Bridge `json:"bridge"`
}

// BridgeDestroyed: a bridge was torn down.
type BridgeDestroyed struct {
	Event
	Bridge Bridge `json:"bridge"`
}

// PlaybackStarted: media began playing.
type PlaybackStarted struct {
	Event
	Playback Playback `json:"playback"`
}

// PlaybackFinished: media finished (or was stopped, or failed).
type PlaybackFinished struct {
	Event
	Playback Playback `json:"playback"`
}

// RecordingStarted: a live recording began.
type RecordingStarted struct {
	Event
	Recording LiveRecording `json:"recording"`
}

// RecordingFinished: a live recording ended.
type RecordingFinished struct {
	Event
	Recording LiveRecording `json:"recording"`
}

// ChannelVarset: a channel variable was set (Channel nil for globals).
type ChannelVarset struct {
	Event
	Variable string   `json:"variable"`
	Value    string   `json:"value"`
	Channel  *Channel `json:"channel,omitempty"`
}

// ChannelUserevent: a user-defined event, raised by
// POST /ari/events/user/{eventName} (or, later, by a flow step).
type ChannelUserevent struct {
	Event
	EventName string         `json:"eventname"`
	Channel   *Channel       `json:"channel,omitempty"`
	Bridge    *Bridge        `json:"bridge,omitempty"`
	Endpoint  map[string]any `json:"endpoint,omitempty"`
	UserEvent map[string]any `json:"userevent"`
}

// AsteriskInfo is the answer of GET /asterisk/info.
type AsteriskInfo struct {
	Build  BuildInfo  `json:"build"`
	System SystemInfo `json:"system"`
	Config ConfigInfo `json:"config"`
	Status StatusInfo `json:"status"`
}

// BuildInfo describes the build.
type BuildInfo struct {
	OS      string `json:"os"`
	Kernel  string `json:"kernel"`
	Options string `json:"options"`
	Machine string `json:"machine"`
	Date    string `json:"date"`
	User    string `json:"user"`
}

// SystemInfo names the system.
type SystemInfo struct {
	Version  string `json:"version"`
	EntityID string `json:"entity_id"`
}

// ConfigInfo is the running configuration.
type ConfigInfo struct {
	Name            string  `json:"name"`
	DefaultLanguage string  `json:"default_language"`
	MaxChannels     int     `json:"max_channels,omitempty"`
	MaxOpenFiles    int     `json:"max_open_files,omitempty"`
	MaxLoad         float64 `json:"max_load,omitempty"`
	SetID           SetID   `json:"setid"`
}

// SetID is the effective user and group.
type SetID struct {
	User  string `json:"user"`
	Group string `json:"group"`
}

// StatusInfo gives the start and last-reload times.
type StatusInfo struct {
	StartupTime    Time `json:"startup_time"`
	LastReloadTime Time `json:"last_reload_time"`
}

// Variable is the answer of GET /asterisk/variable.
type Variable struct {
	Value string `json:"value"`
}
