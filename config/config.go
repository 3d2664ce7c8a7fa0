// Package config loads the server configuration: listeners, media ports,
// limits and the tenants served (their trunks, numbers, flows and prompts).
package config

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"hotline/region"
)

// Config is the whole server configuration. Paths inside it are resolved
// relative to the directory of the file they were read from.
type Config struct {
	SIP        SIP        `yaml:"sip"`
	HTTP       HTTP       `yaml:"http"`
	RTP        RTP        `yaml:"rtp"`
	Data       string     `yaml:"data"`
	Limits     Limits     `yaml:"limits"`
	Log        Log        `yaml:"log"`
	WebRTC     WebRTC     `yaml:"webrtc"`
	Speech     Speech     `yaml:"speech"`
	Recordings Recordings `yaml:"recordings"`
	Tenants    []Tenant   `yaml:"tenants"`

	// File is the path the configuration was loaded from.
	File string `yaml:"-"`
}

// Recordings configures call recording (docs/recordings.md).
type Recordings struct {
	// Enabled records every agent call; default true.
	Enabled *bool `yaml:"enabled"`
	// Dir holds the files; empty: <data>/recordings.
	Dir string `yaml:"dir"`
	// RetentionDays deletes recordings this long after they started, for
	// tenants without their own setting; 0 keeps them forever.
	RetentionDays int `yaml:"retention_days"`
}

// On reports whether calls are recorded.
func (r Recordings) On() bool { return r.Enabled == nil || *r.Enabled }

// TenantRecording is a tenant's recording policy.
type TenantRecording struct {
	// RetentionDays overrides recordings.retention_days (negative: keep).
	RetentionDays int `yaml:"retention_days"`
	// KeyFile or KeyEnv (one of them) holds a 32-byte AES-256 key, as 64
	// hex digits or base64: the tenant's recordings are then encrypted.
	KeyFile string `yaml:"key_file"`
	KeyEnv  string `yaml:"key_env"`
}

type SIP struct {
	Listen string `yaml:"listen"`
	// ExternalIP is the address written into Contact and SDP when the
	// server sits behind NAT; empty means the listening address (or the
	// address of the interface that reaches the caller).
	ExternalIP string `yaml:"external_ip"`
	// UserAgent is sent in Server/User-Agent headers.
	UserAgent string `yaml:"user_agent"`
}

type HTTP struct {
	Listen string `yaml:"listen"`
}

type RTP struct {
	Ports       string   `yaml:"ports"`
	IP          string   `yaml:"ip"`
	Timeout     Duration `yaml:"timeout"`
	HoldTimeout Duration `yaml:"hold_timeout"`

	PortMin, PortMax int `yaml:"-"`
}

// WebRTC configures the agents' browser media legs.
type WebRTC struct {
	// Ports bounds the UDP ports of agents' WebRTC legs ("LO-HI"); empty: any.
	Ports string `yaml:"ports"`
	// ICEServers are STUN/TURN servers for agents behind NAT; both our side
	// and the browser use them. Empty: host candidates only (a LAN).
	ICEServers []ICEServer `yaml:"ice_servers"`
	// Opus offers Opus to browsers (preferred, PCMU the fallback); the
	// media node then transcodes G.711 both ways. Default false: PCMU only.
	Opus bool `yaml:"opus"`
	// PublicIP replaces the address of our host ICE candidates, for media
	// nodes behind 1:1 NAT (a cloud VM's public address); empty: none.
	PublicIP string `yaml:"public_ip"`

	PortMin, PortMax int        `yaml:"-"`
	PublicAddr       netip.Addr `yaml:"-"` // PublicIP parsed
}

// ICEServer is one STUN or TURN server.
type ICEServer struct {
	URLs       []string `yaml:"urls"`
	Username   string   `yaml:"username"`
	Credential string   `yaml:"credential"`
}

// Speech configures the speech engines every tenant's flows use.
type Speech struct {
	// Engine recognizes callers' speech: "pocketsphinx" or "none" (keypad
	// only, the default).
	Engine string `yaml:"engine"`
	// Model is the recognizer's acoustic model directory and Dict its
	// pronunciation dictionary; "": the engine's defaults (Debian's
	// pocketsphinx-en-us).
	Model string `yaml:"model"`
	Dict  string `yaml:"dict"`
	// Pool is how many utterances decode at once (each decoder holds
	// ~30 MB); 0: one per CPU, since decoding is CPU bound. Utterances
	// beyond wait for a free decoder.
	Pool int `yaml:"pool"`
	// Synthesizer speaks say steps and confirmations: "espeak" or "none"
	// (the default).
	Synthesizer string `yaml:"synthesizer"`
	// Voice is the synthesizer's voice ("" : its default).
	Voice string `yaml:"voice"`
	// Transcribe configures live transcripts of agent calls.
	Transcribe Transcribe `yaml:"transcribe"`
}

// Transcribe configures the live transcript of agent calls (both sides,
// docs/transcripts.md). Recognition runs in servers speaking the Vosk
// WebSocket protocol: `hotline speech serve` worker processes this server
// starts itself, or other machines' servers (ours, Vosk, sherpa-onnx).
type Transcribe struct {
	Enabled bool `yaml:"enabled"`
	// Servers are ws:// (or wss://) URLs of Vosk-protocol servers, used
	// round robin; empty: Workers local processes are started.
	Servers []string `yaml:"servers"`
	// Workers is how many local worker processes run (default 1); each
	// decodes up to Pool phrases at once.
	Workers int `yaml:"workers"`
	// Pool bounds a local worker's decoders (~110 MB each); 0: one per CPU.
	Pool int `yaml:"pool"`
	// LM is the local workers' language model ("": Debian's en-us).
	LM string `yaml:"lm"`
	// SecondPass runs the local workers' second search over each phrase:
	// ~1.3 points less word error, ~20 % more CPU, and ~0.1-0.2 s more
	// before each line (docs/transcripts.md "Latency").
	SecondPass bool `yaml:"second_pass"`
}

// Speech engines a configuration may name.
const (
	SpeechNone         = "none"
	SpeechPocketSphinx = "pocketsphinx"
	SpeechEspeak       = "espeak"
)

type Limits struct {
	// MaxCalls is the number of concurrent calls; INVITEs beyond get 503.
	MaxCalls int `yaml:"max_calls"`
	// MaxCPS bounds new calls per second (token bucket); beyond gets 503.
	MaxCPS int `yaml:"max_cps"`
}

type Log struct {
	Level string `yaml:"level"`
}

type Tenant struct {
	ID       string            `yaml:"id"`
	Name     string            `yaml:"name"`
	Timezone string            `yaml:"timezone"`
	Holidays []string          `yaml:"holidays"`
	Trunks   Trunks            `yaml:"trunks"`
	Prompts  string            `yaml:"prompts"`
	Music    string            `yaml:"music"`
	Flows    map[string]string `yaml:"flows"`
	Numbers  []Number          `yaml:"numbers"`
	Queues   []Queue           `yaml:"queues"`
	// Agents sets, by username, what an agent serves; an agent not listed
	// serves every queue with level 50 in each skill they require, and so
	// does one whose profile gives regions only.
	Agents map[string]AgentProfile `yaml:"agents"`
	// Recording is the tenant's recording policy (retention, encryption).
	Recording TenantRecording `yaml:"recording"`
	// ARI lists who may use the Asterisk-compatible API for this tenant.
	ARI TenantARI `yaml:"ari"`
	// Country (ISO 3166 alpha-2, e.g. US) reads callers' national numbers
	// (without '+') by that country's dialling rules; "": numbers without
	// '+' are read as international.
	Country string `yaml:"country"`
	// Regions map callers' number prefixes to the tenant's regions
	// (longest prefix wins); callers no prefix matches have their
	// country's ISO code as region (package region).
	Regions []RegionRule `yaml:"regions"`
	// Knowledge is the directory of the tenant's knowledge-base files
	// (*.yaml, package assist, docs/knowledge.md), relative to this file;
	// "": the tenant has only articles created through the API.
	Knowledge string `yaml:"knowledge"`
	// Chat is the tenant's web chat and messaging channels (docs/chat.md).
	Chat TenantChat `yaml:"chat"`
	// Surveys are the tenant's satisfaction surveys by name, asked after
	// an agent hangs up (survey.go, docs/surveys.md).
	Surveys map[string]Survey `yaml:"surveys"`
	// Vars are given to every call of the tenant as flow variables, e.g.
	// crm, the base URL of its lookup service (vars.go).
	Vars map[string]string `yaml:"vars"`
	// CRM is the lookup whose fields the agent sees beside the softphone
	// before answering (crm.go, docs/assist.md); no url: none.
	CRM TenantCRM `yaml:"crm"`

	Location *time.Location `yaml:"-"`
	Allow    []netip.Prefix `yaml:"-"`
}

// RegionRule maps callers whose number starts with Prefix (E.164, '+'
// optional) to Region.
type RegionRule struct {
	Prefix string `yaml:"prefix"`
	Region string `yaml:"region"`
}

// TenantARI is a tenant's ARI section (docs/ari.md).
type TenantARI struct {
	Users []ARIUser `yaml:"users"`
}

// ARIUser is one ARI user. The password is plain text, as in Asterisk's
// ari.conf: ARI clients send it with every request, so checking a
// memory-hard hash each time would make the API a cheap way to exhaust
// the host. PasswordEnv names an environment variable holding it instead,
// to keep it out of the file. Usernames are unique across tenants, since
// basic auth carries no tenant: the user names it.
type ARIUser struct {
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
}

type Trunks struct {
	Allow []string `yaml:"allow"`
	// Outbound are the carriers Hotline places calls through (ARI
	// originate); an application names one as PJSIP/NUMBER@NAME.
	Outbound []OutboundTrunk `yaml:"outbound"`
}

// OutboundTrunk is a carrier's SIP address for calls Hotline places.
// Username and Password (or PasswordEnv, an environment variable holding
// it) answer the carrier's digest challenge (401/407) to an INVITE;
// Realm, if set, is the only realm they are given to. The password is
// never logged.
type OutboundTrunk struct {
	Name        string `yaml:"name"`
	Address     string `yaml:"address"`   // host:port (port default 5060)
	Transport   string `yaml:"transport"` // udp (default) or tcp
	CallerID    string `yaml:"caller_id"` // default caller ID number
	Username    string `yaml:"username"`
	Password    string `yaml:"password"`
	PasswordEnv string `yaml:"password_env"`
	Realm       string `yaml:"realm"`
}

// Number is one of a tenant's inbound numbers. It runs a flow, or goes
// straight to an ARI application (App, with its Args), which answers the
// call itself; exactly one of Flow and App is given.
type Number struct {
	Number string `yaml:"number"`
	Flow   string `yaml:"flow"`
	// App is an ARI application (docs/ari.md) the call is handed to, as by
	// Asterisk's Stasis(App, Args...): letters, digits, _ . and -.
	App  string   `yaml:"app"`
	Args []string `yaml:"args"`
	// AnswerDelay rings this long before the IVR answers (0: at once);
	// flows only, since an application answers when it wants.
	AnswerDelay Duration `yaml:"answer_delay"`
}

// Queue is one of a tenant's ACD queues. A tenant without queues keeps the
// flows' queue steps as music-only holding.
type Queue struct {
	Name string `yaml:"name"`
	// Strategy: longest_idle (default), fewest_calls, round_robin,
	// ring_all or skills_weighted.
	Strategy string `yaml:"strategy"`
	// Skills every call of the queue requires: skill name -> minimum level
	// (1-100).
	Skills      map[string]int `yaml:"skills"`
	RingTimeout Duration       `yaml:"ring_timeout"` // 0: 20s
	WrapUp      Duration       `yaml:"wrap_up"`
	// MaxWait moves a caller to Overflow (another queue of the tenant), or
	// back to the flow (its queue step's timeout_step, else hang-up).
	MaxWait  Duration `yaml:"max_wait"`
	Overflow string   `yaml:"overflow"`
	// AnnounceEvery is the period of position and estimated-wait
	// announcements between hold music: 0 means DefaultAnnounceEvery, a
	// negative value turns them off.
	AnnounceEvery Duration `yaml:"announce_every"`
	// HandleTime is the assumed average handle time for estimated waits
	// until the queue has handled calls; 0 leaves the wait unannounced.
	HandleTime Duration `yaml:"handle_time"`
	// Music is the hold music class; "" uses the flow step's.
	Music string `yaml:"music"`
	// ServiceLevel is the answer-time threshold of the queue's service
	// level (0: 20s); callers who hang up sooner than ShortAbandon are
	// short abandons. SLFormula names how abandoned calls count:
	// "default" (answered in time / (answered + abandoned - short
	// abandons)), "answered" (Asterisk's SL: / answered) or
	// "answered_abandoned" (Asterisk's SL2: answered and abandoned in
	// time / both).
	ServiceLevel Duration `yaml:"service_level"`
	ShortAbandon Duration `yaml:"short_abandon"`
	SLFormula    string   `yaml:"sl_formula"`
	// PreferRegion offers a caller first to the agents of the caller's
	// region (AgentProfile.Regions), for RegionWait (0: 20s), then to
	// every eligible agent; see acd.QueueConfig.PreferRegion.
	PreferRegion bool     `yaml:"prefer_region"`
	RegionWait   Duration `yaml:"region_wait"`
	// Survey names a tenant survey every caller of the queue is asked
	// when their agent hangs up.
	Survey string `yaml:"survey"`
	// Trunk and CallerID are for calls placed on behalf of the queue
	// (click to call, docs/outbound.md): the outbound trunk ("": the
	// tenant's first) and the caller ID number ("": the trunk's).
	Trunk    string `yaml:"trunk"`
	CallerID string `yaml:"caller_id"`
	// Callback lets waiting callers ask to be called back, keeping their
	// place (config/callback.go, docs/callbacks.md); nil: off.
	Callback *QueueCallback `yaml:"callback"`
}

// AgentProfile is one agent's skills (name -> level 1-100) and queues.
type AgentProfile struct {
	Skills map[string]int `yaml:"skills"`
	Queues []string       `yaml:"queues"`
	// Regions are the callers' regions the agent serves first in queues
	// with prefer_region (tenant regions or ISO country codes).
	Regions []string `yaml:"regions"`
}

// DefaultSkillLevel is the level an agent without a profile has in every
// skill their queues require: enough for any minimum up to the middle.
const DefaultSkillLevel = 50

// QueueStrategies lists the strategies a queue may name.
func QueueStrategies() []string {
	return []string{"longest_idle", "fewest_calls", "round_robin", "ring_all", "skills_weighted"}
}

// DefaultAnnounceEvery is the announcement period when a queue sets none.
const DefaultAnnounceEvery = 30 * time.Second

// Duration accepts Go duration strings ("30s", "1m") in YAML.
type Duration time.Duration

func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: invalid duration %q", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// Error is a configuration error that points at a file and line.
type Error struct {
	File string
	Line int
	Msg  string
}

func (e *Error) Error() string {
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Errors collects every problem found, so one run of the loader reports
// them all instead of one per edit.
type Errors []*Error

func (es Errors) Error() string {
	var b strings.Builder
	for i, e := range es {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Load reads and validates a configuration file.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// Parse validates configuration bytes; path names the file in errors and
// anchors relative paths.
func Parse(path string, data []byte) (*Config, error) {
	var root yaml.Node
	if err := yaml.Unmarshal(data, &root); err != nil {
		return nil, &Error{File: path, Line: yamlErrLine(err), Msg: cleanYAMLErr(err)}
	}
	cfg := Defaults()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, &Error{File: path, Line: yamlErrLine(err), Msg: cleanYAMLErr(err)}
	}
	cfg.File = path
	base := filepath.Dir(path)
	var errs Errors
	bad := func(line int, format string, args ...any) {
		errs = append(errs, &Error{File: path, Line: line, Msg: fmt.Sprintf(format, args...)})
	}
	lines := lineIndex{root: &root}

	lo, hi, err := ParsePortRange(cfg.RTP.Ports)
	if err != nil {
		bad(lines.of("rtp", "ports"), "rtp.ports: %v", err)
	}
	cfg.RTP.PortMin, cfg.RTP.PortMax = lo, hi
	if cfg.WebRTC.Ports != "" {
		lo, hi, err := ParsePortRange(cfg.WebRTC.Ports)
		if err != nil {
			bad(lines.of("webrtc", "ports"), "webrtc.ports: %v", err)
		}
		cfg.WebRTC.PortMin, cfg.WebRTC.PortMax = lo, hi
	}
	for i, srv := range cfg.WebRTC.ICEServers {
		if len(srv.URLs) == 0 {
			bad(lines.of("webrtc", "ice_servers", strconv.Itoa(i)), "webrtc.ice_servers: an entry without urls")
		}
		for j, u := range srv.URLs {
			scheme, _, _ := strings.Cut(u, ":")
			switch scheme {
			case "stun", "stuns":
			case "turn", "turns":
				if srv.Username == "" || srv.Credential == "" {
					bad(lines.of("webrtc", "ice_servers", strconv.Itoa(i), "urls", strconv.Itoa(j)), "webrtc.ice_servers: TURN server %q needs username and credential", u)
				}
			default:
				bad(lines.of("webrtc", "ice_servers", strconv.Itoa(i), "urls", strconv.Itoa(j)), "webrtc.ice_servers: %q is not a stun:, stuns:, turn: or turns: URL", u)
			}
		}
	}
	if cfg.WebRTC.PublicIP != "" {
		a, err := netip.ParseAddr(cfg.WebRTC.PublicIP)
		if err != nil || a.Zone() != "" || a.IsUnspecified() {
			bad(lines.of("webrtc", "public_ip"), "webrtc.public_ip: %q is not an IP address browsers can reach", cfg.WebRTC.PublicIP)
		} else {
			cfg.WebRTC.PublicAddr = a.Unmap()
		}
	}
	if cfg.RTP.IP != "" {
		if _, err := netip.ParseAddr(cfg.RTP.IP); err != nil {
			bad(lines.of("rtp", "ip"), "rtp.ip: %q is not an IP address", cfg.RTP.IP)
		}
	}
	if cfg.SIP.ExternalIP != "" {
		if _, err := netip.ParseAddr(cfg.SIP.ExternalIP); err != nil {
			bad(lines.of("sip", "external_ip"), "sip.external_ip: %q is not an IP address", cfg.SIP.ExternalIP)
		}
	}
	checkSpeech(&cfg.Speech, base, func(key string) int { return lines.of("speech", key) }, bad)
	if cfg.Data != "" && !filepath.IsAbs(cfg.Data) {
		cfg.Data = filepath.Join(base, cfg.Data)
	}
	if cfg.Recordings.RetentionDays < 0 {
		bad(lines.of("recordings", "retention_days"), "recordings.retention_days: %d is negative (0 keeps recordings forever)", cfg.Recordings.RetentionDays)
	}
	if d := cfg.Recordings.Dir; d != "" && !filepath.IsAbs(d) {
		cfg.Recordings.Dir = filepath.Join(base, d)
	}
	if len(cfg.Tenants) == 0 {
		bad(lines.of("tenants"), "no tenants configured")
	}
	seenTenant := map[string]bool{}
	seenNumber := map[string]string{}
	seenARIUser := map[string]string{}
	for i := range cfg.Tenants {
		t := &cfg.Tenants[i]
		at := func(keys ...string) int {
			return lines.of(append([]string{"tenants", strconv.Itoa(i)}, keys...)...)
		}
		if !validID(t.ID) {
			bad(at("id"), "tenant id %q: use lower-case letters, digits and '-'", t.ID)
		} else if seenTenant[t.ID] {
			bad(at("id"), "tenant %q defined twice", t.ID)
		}
		seenTenant[t.ID] = true
		if t.Name == "" {
			t.Name = t.ID
		}
		if t.Timezone == "" {
			t.Timezone = "UTC"
		}
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil {
			bad(at("timezone"), "tenant %s: unknown time zone %q", t.ID, t.Timezone)
		}
		t.Location = loc
		if r := &t.Recording; r.KeyFile != "" && r.KeyEnv != "" {
			bad(at("recording", "key_file"), "tenant %s: recording has both key_file and key_env; give one", t.ID)
		} else if r.KeyFile != "" && !filepath.IsAbs(r.KeyFile) {
			r.KeyFile = filepath.Join(base, r.KeyFile)
		}
		for j, h := range t.Holidays {
			if _, err := time.Parse("2006-01-02", h); err != nil {
				bad(at("holidays", strconv.Itoa(j)), "tenant %s: holiday %q is not YYYY-MM-DD", t.ID, h)
			}
		}
		for j, a := range t.Trunks.Allow {
			p, err := parsePrefix(a)
			if err != nil {
				bad(at("trunks", "allow", strconv.Itoa(j)), "tenant %s: trunk address %q is not an IP or CIDR", t.ID, a)
				continue
			}
			t.Allow = append(t.Allow, p)
		}
		seenTrunk := map[string]bool{}
		for j := range t.Trunks.Outbound {
			o := &t.Trunks.Outbound[j]
			where := at("trunks", "outbound", strconv.Itoa(j))
			switch {
			case o.Name == "" || strings.ContainsAny(o.Name, "/@: "):
				bad(where, "tenant %s: outbound trunk needs a name without / @ : or spaces", t.ID)
			case seenTrunk[o.Name]:
				bad(where, "tenant %s: outbound trunk %q defined twice", t.ID, o.Name)
			}
			seenTrunk[o.Name] = true
			if _, _, err := net.SplitHostPort(o.Address); err != nil && (o.Address == "" || strings.ContainsAny(o.Address, "/ ")) {
				bad(where, "tenant %s: outbound trunk %q: address %q is not host[:port]", t.ID, o.Name, o.Address)
			}
			if o.Transport != "" && o.Transport != "udp" && o.Transport != "tcp" {
				bad(where, "tenant %s: outbound trunk %q: transport must be udp or tcp", t.ID, o.Name)
			}
			checkTrunkAuth(t.ID, o, func(key string) int { return at("trunks", "outbound", strconv.Itoa(j), key) }, bad)
		}
		if t.Prompts == "" {
			bad(at(), "tenant %s: prompts directory missing", t.ID)
		} else if !filepath.IsAbs(t.Prompts) {
			t.Prompts = filepath.Join(base, t.Prompts)
		}
		if t.Knowledge != "" && !filepath.IsAbs(t.Knowledge) {
			t.Knowledge = filepath.Join(base, t.Knowledge)
		}
		if t.Music != "" && !filepath.IsAbs(t.Music) {
			t.Music = filepath.Join(base, t.Music)
		}
		for name, f := range t.Flows {
			if !filepath.IsAbs(f) {
				t.Flows[name] = filepath.Join(base, f)
			}
		}
		for j, n := range t.Numbers {
			norm := NormalizeNumber(n.Number)
			if norm == "" {
				bad(at("numbers", strconv.Itoa(j), "number"), "tenant %s: number %q is not a phone number", t.ID, n.Number)
				continue
			}
			t.Numbers[j].Number = norm
			if other, dup := seenNumber[norm]; dup {
				bad(at("numbers", strconv.Itoa(j), "number"), "number %s already belongs to tenant %s", norm, other)
			}
			seenNumber[norm] = t.ID
			checkNumberTarget(t, n, norm, func(keys ...string) int {
				return at(append([]string{"numbers", strconv.Itoa(j)}, keys...)...)
			}, bad)
		}
		checkQueues(t, func(j int, keys ...string) int {
			return at(append([]string{"queues", strconv.Itoa(j)}, keys...)...)
		}, bad)
		checkAgents(t, func(keys ...string) int { return at(append([]string{"agents"}, keys...)...) }, bad)
		checkRegions(t, at, bad)
		checkSurveys(t, cfg.Speech.Synthesizer, at, bad)
		checkCallbackSpeech(t, cfg.Speech.Engine, func(j int, keys ...string) int {
			return at(append([]string{"queues", strconv.Itoa(j)}, keys...)...)
		}, bad)
		checkChat(t, at, bad)
		checkARI(t, seenARIUser, func(j int, key string) int { return at("ari", "users", strconv.Itoa(j), key) }, bad)
		checkVars(t, func(name string) int { return at("vars", name) }, bad)
		checkCRM(t, at, bad)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return cfg, nil
}

// checkNumberTarget checks that a number names a flow of the tenant or an
// ARI application, not both.
func checkNumberTarget(t *Tenant, n Number, norm string, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	switch {
	case n.App != "" && n.Flow != "":
		bad(at("app"), "tenant %s: number %s has both flow and app; give one (a flow can hand the call to the application with a stasis step)", t.ID, norm)
		return
	case n.App == "" && n.Flow == "":
		bad(at(), "tenant %s: number %s needs a flow or an app (an ARI application)", t.ID, norm)
		return
	case n.App != "":
		if !ValidAppName(n.App) {
			bad(at("app"), "tenant %s: number %s: invalid application name %q (letters, digits, _ . -, at most %d)", t.ID, norm, n.App, maxAppName)
		}
		if n.AnswerDelay != 0 {
			bad(at("answer_delay"), "tenant %s: number %s: answer_delay is for flows; application %s answers the call itself", t.ID, norm, n.App)
		}
		return
	}
	if len(n.Args) > 0 {
		bad(at("args"), "tenant %s: number %s: args are for an app, not a flow", t.ID, norm)
	}
	if _, ok := t.Flows[n.Flow]; !ok {
		bad(at("flow"), "tenant %s: number %s names flow %q, which is not in flows", t.ID, norm, n.Flow)
	}
}

// maxAppName bounds an ARI application's name.
const maxAppName = 128

// ValidAppName reports whether name may name an ARI application: letters,
// digits, '_', '.' and '-' (the same rule as the ivr package's stasis
// steps, ivr.ValidAppName), at most 128 characters.
func ValidAppName(name string) bool {
	if name == "" || len(name) > maxAppName {
		return false
	}
	for _, r := range name {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '.' || r == '-') {
			return false
		}
	}
	return true
}

// checkSpeech validates the speech section. A model directory that is
// missing is not an error here: the server then runs keypad only, with a
// warning, rather than refusing every call.
func checkSpeech(sp *Speech, base string, at func(key string) int, bad func(line int, format string, args ...any)) {
	switch sp.Engine {
	case "":
		sp.Engine = SpeechNone
	case SpeechNone, SpeechPocketSphinx:
	default:
		bad(at("engine"), "speech.engine: unknown engine %q (want %s or %s)", sp.Engine, SpeechPocketSphinx, SpeechNone)
	}
	switch sp.Synthesizer {
	case "":
		sp.Synthesizer = SpeechNone
	case SpeechNone, SpeechEspeak:
	default:
		bad(at("synthesizer"), "speech.synthesizer: unknown synthesizer %q (want %s or %s)", sp.Synthesizer, SpeechEspeak, SpeechNone)
	}
	if sp.Pool < 0 || sp.Pool > 1000 {
		bad(at("pool"), "speech.pool must be between 0 (one per CPU) and 1000, not %d", sp.Pool)
	}
	tr := &sp.Transcribe
	for _, u := range tr.Servers {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "ws" && pu.Scheme != "wss") || pu.Host == "" {
			bad(at("transcribe"), "speech.transcribe.servers: %q is not a ws:// or wss:// URL", u)
		}
	}
	if tr.Workers < 0 || tr.Workers > 64 {
		bad(at("transcribe"), "speech.transcribe.workers must be between 0 (one) and 64, not %d", tr.Workers)
	}
	if tr.Workers == 0 {
		tr.Workers = 1
	}
	if tr.Pool < 0 || tr.Pool > 256 {
		bad(at("transcribe"), "speech.transcribe.pool must be between 0 (one per CPU) and 256, not %d", tr.Pool)
	}
	for _, p := range []*string{&sp.Model, &sp.Dict, &tr.LM} {
		if *p != "" && !filepath.IsAbs(*p) {
			*p = filepath.Join(base, *p)
		}
	}
}

// checkTrunkAuth validates an outbound trunk's digest credentials and
// resolves password_env. Error messages never hold the password.
func checkTrunkAuth(tenantID string, o *OutboundTrunk, at func(key string) int, bad func(line int, format string, args ...any)) {
	// They go into quoted strings of the Authorization header.
	quotable := func(v string) bool {
		return !strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f || r == '"' || r == '\\' })
	}
	if !quotable(o.Username) {
		bad(at("username"), "tenant %s: outbound trunk %q: username has quotes, backslashes or control characters", tenantID, o.Name)
	}
	if !quotable(o.Realm) {
		bad(at("realm"), "tenant %s: outbound trunk %q: realm has quotes, backslashes or control characters", tenantID, o.Name)
	}
	switch {
	case o.Username == "" && (o.Password != "" || o.PasswordEnv != ""):
		key := "password"
		if o.Password == "" {
			key = "password_env"
		}
		bad(at(key), "tenant %s: outbound trunk %q has a password but no username", tenantID, o.Name)
	case o.Username == "" && o.Realm != "":
		bad(at("realm"), "tenant %s: outbound trunk %q has a realm but no username", tenantID, o.Name)
	case o.Username == "":
	case o.Password != "" && o.PasswordEnv != "":
		bad(at("password"), "tenant %s: outbound trunk %q has both password and password_env; give one", tenantID, o.Name)
	case o.PasswordEnv != "":
		o.Password = os.Getenv(o.PasswordEnv)
		if o.Password == "" {
			bad(at("password_env"), "tenant %s: outbound trunk %q: environment variable %s is empty or unset", tenantID, o.Name, o.PasswordEnv)
		}
	case o.Password == "":
		bad(at("username"), "tenant %s: outbound trunk %q has a username but no password (or password_env)", tenantID, o.Name)
	}
}

// checkARI validates a tenant's ARI users and resolves password_env.
// seen maps usernames already taken to their tenants.
func checkARI(t *Tenant, seen map[string]string, at func(j int, key string) int, bad func(line int, format string, args ...any)) {
	for j := range t.ARI.Users {
		u := &t.ARI.Users[j]
		// ':' would split differently in basic auth and api_key=user:pass.
		if u.Username == "" || strings.ContainsAny(u.Username, ": \t") {
			bad(at(j, "username"), "tenant %s: ari user %q: a username without ':' or spaces is required", t.ID, u.Username)
			continue
		}
		if other, dup := seen[u.Username]; dup {
			bad(at(j, "username"), "tenant %s: ari user %q is already a user of tenant %s (usernames name the tenant)", t.ID, u.Username, other)
		}
		seen[u.Username] = t.ID
		switch {
		case u.Password != "" && u.PasswordEnv != "":
			bad(at(j, "password"), "tenant %s: ari user %s has both password and password_env; give one", t.ID, u.Username)
		case u.PasswordEnv != "":
			u.Password = os.Getenv(u.PasswordEnv)
			if u.Password == "" {
				bad(at(j, "password_env"), "tenant %s: ari user %s: environment variable %s is empty or unset", t.ID, u.Username, u.PasswordEnv)
			}
		case u.Password == "":
			bad(at(j, "username"), "tenant %s: ari user %s has no password", t.ID, u.Username)
		}
	}
}

// checkRegions validates a tenant's country and region table, with the
// line of each bad rule.
func checkRegions(t *Tenant, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	if t.Country != "" {
		if region.CallingCode(t.Country) == "" {
			bad(at("country"), "tenant %s: country %q: want an ISO 3166 alpha-2 code such as US, GB or FR", t.ID, t.Country)
		}
		t.Country = strings.ToUpper(t.Country)
	}
	seen := map[string]int{}
	for j := range t.Regions {
		r := &t.Regions[j]
		where := func(key string) int { return at("regions", strconv.Itoa(j), key) }
		digits, ok := region.PrefixDigits(r.Prefix)
		switch {
		case !ok:
			bad(where("prefix"), "tenant %s: region prefix %q: want an E.164 prefix such as \"+1555\" (digits, '+' optional, no leading 0)", t.ID, r.Prefix)
		case seen[digits] > 0:
			bad(where("prefix"), "tenant %s: region prefix +%s given twice (first at line %d)", t.ID, digits, seen[digits])
		default:
			seen[digits] = where("prefix")
			r.Prefix = "+" + digits
		}
		if !region.ValidName(r.Region) {
			bad(where("region"), "tenant %s: region name %q: use letters, digits, '_' and '-' (at most 64)", t.ID, r.Region)
		}
	}
	for _, user := range slices.Sorted(maps.Keys(t.Agents)) {
		for k, r := range t.Agents[user].Regions {
			if !region.ValidName(r) {
				bad(at("agents", user, "regions", strconv.Itoa(k)), "tenant %s: agent %s: region name %q: use letters, digits, '_' and '-'", t.ID, user, r)
			}
		}
	}
}

// RegionRules returns the tenant's table for region.NewResolver.
func (t *Tenant) RegionRules() []region.Rule {
	out := make([]region.Rule, len(t.Regions))
	for i, r := range t.Regions {
		out[i] = region.Rule{Prefix: r.Prefix, Region: r.Region}
	}
	return out
}

// checkAgents refuses agent profiles naming queues the tenant lacks or
// levels out of range, which would otherwise fail at the agent's login.
func checkAgents(t *Tenant, at func(keys ...string) int, bad func(line int, format string, args ...any)) {
	for _, user := range slices.Sorted(maps.Keys(t.Agents)) {
		p := t.Agents[user]
		for _, q := range p.Queues {
			if !slices.ContainsFunc(t.Queues, func(c Queue) bool { return c.Name == q }) {
				bad(at(user, "queues"), "tenant %s: agent %s: queue %q is not among the tenant's queues", t.ID, user, q)
			}
		}
		for _, skill := range slices.Sorted(maps.Keys(p.Skills)) {
			if lvl := p.Skills[skill]; skill == "" || lvl < 1 || lvl > 100 {
				bad(at(user, "skills", skill), "tenant %s: agent %s: skill %q level %d: want 1-100", t.ID, user, skill, lvl)
			}
		}
	}
}

// checkQueues validates a tenant's queues and fills their defaults.
func checkQueues(t *Tenant, at func(j int, keys ...string) int, bad func(line int, format string, args ...any)) {
	names := map[string]bool{}
	for _, q := range t.Queues {
		names[q.Name] = true
	}
	seen := map[string]bool{}
	for j := range t.Queues {
		q := &t.Queues[j]
		if !validQueueName(q.Name) {
			bad(at(j, "name"), "tenant %s: queue name %q: use letters, digits, '_' and '-'", t.ID, q.Name)
		} else if seen[q.Name] {
			bad(at(j, "name"), "tenant %s: queue %q defined twice", t.ID, q.Name)
		}
		seen[q.Name] = true
		if q.Strategy == "" {
			q.Strategy = "longest_idle"
		} else if !slices.Contains(QueueStrategies(), q.Strategy) {
			bad(at(j, "strategy"), "tenant %s: queue %s: unknown strategy %q (want one of %s)", t.ID, q.Name, q.Strategy, strings.Join(QueueStrategies(), ", "))
		}
		for _, skill := range slices.Sorted(maps.Keys(q.Skills)) {
			if lvl := q.Skills[skill]; skill == "" || lvl < 1 || lvl > 100 {
				bad(at(j, "skills", skill), "tenant %s: queue %s: skill %q level %d: want 1-100", t.ID, q.Name, skill, lvl)
			}
		}
		for _, d := range []struct {
			key string
			v   Duration
		}{{"ring_timeout", q.RingTimeout}, {"wrap_up", q.WrapUp}, {"max_wait", q.MaxWait}, {"handle_time", q.HandleTime},
			{"service_level", q.ServiceLevel}, {"short_abandon", q.ShortAbandon}, {"region_wait", q.RegionWait}} {
			if d.v < 0 {
				bad(at(j, d.key), "tenant %s: queue %s: %s must not be negative", t.ID, q.Name, d.key)
			}
		}
		if q.RegionWait != 0 && !q.PreferRegion {
			bad(at(j, "region_wait"), "tenant %s: queue %s: region_wait without prefer_region: true", t.ID, q.Name)
		}
		switch q.SLFormula {
		case "", "default", "answered", "answered_abandoned":
		default:
			bad(at(j, "sl_formula"), "tenant %s: queue %s: sl_formula %q: want default, answered or answered_abandoned", t.ID, q.Name, q.SLFormula)
		}
		switch {
		case q.AnnounceEvery == 0:
			q.AnnounceEvery = Duration(DefaultAnnounceEvery)
		case q.AnnounceEvery < 0:
			q.AnnounceEvery = 0 // announcements off
		case q.AnnounceEvery < Duration(time.Second):
			bad(at(j, "announce_every"), "tenant %s: queue %s: announce_every %v is too short (at least 1s)", t.ID, q.Name, time.Duration(q.AnnounceEvery))
		}
		if q.Overflow != "" {
			switch {
			case q.Overflow == q.Name:
				bad(at(j, "overflow"), "tenant %s: queue %s overflows to itself", t.ID, q.Name)
			case !names[q.Overflow]:
				bad(at(j, "overflow"), "tenant %s: queue %s: overflow to unknown queue %q", t.ID, q.Name, q.Overflow)
			case q.MaxWait == 0:
				bad(at(j, "overflow"), "tenant %s: queue %s: overflow needs max_wait", t.ID, q.Name)
			}
		}
		if q.Music != "" && !validQueueName(q.Music) {
			bad(at(j, "music"), "tenant %s: queue %s: invalid music class %q", t.ID, q.Name, q.Music)
		}
		checkQueueOutbound(t, q, func(key string) int { return at(j, key) }, bad)
		checkQueueCallback(t, q, func(keys ...string) int { return at(j, keys...) }, bad)
	}
}

func validQueueName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-') {
			return false
		}
	}
	return true
}

// Defaults are the values used where the file is silent.
func Defaults() *Config {
	return &Config{
		SIP:    SIP{Listen: ":5060", UserAgent: "Hotline"},
		HTTP:   HTTP{Listen: ":8080"},
		RTP:    RTP{Ports: "20000-29999", Timeout: Duration(30 * time.Second)},
		Data:   "var/data",
		Limits: Limits{MaxCalls: 5000, MaxCPS: 2500},
		Log:    Log{Level: "info"},
	}
}

// NormalizeNumber turns a dialled number or SIP user part into the form
// numbers are stored in: a leading '+' kept, visual separators dropped.
// It returns "" when the input holds anything but a phone number.
func NormalizeNumber(s string) string {
	s = strings.TrimSpace(s)
	var b strings.Builder
	for i, r := range s {
		switch {
		case r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == '+' && i == 0:
			b.WriteRune(r)
		case r == '-' || r == ' ' || r == '.' || r == '(' || r == ')':
		default:
			return ""
		}
	}
	out := b.String()
	if strings.TrimPrefix(out, "+") == "" {
		return ""
	}
	return out
}

// ParsePortRange parses "LO-HI" (the file's port ranges and the
// --rtp-ports and --webrtc-ports flags).
func ParsePortRange(s string) (int, int, error) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return 0, 0, fmt.Errorf("%q: want LO-HI", s)
	}
	lo, err1 := strconv.Atoi(strings.TrimSpace(a))
	hi, err2 := strconv.Atoi(strings.TrimSpace(b))
	if err1 != nil || err2 != nil || lo < 1024 || hi > 65535 || lo >= hi {
		return 0, 0, fmt.Errorf("%q: want LO-HI with 1024 <= LO < HI <= 65535", s)
	}
	return lo, hi, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a, a.BitLen()), nil
}

func validID(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// lineIndex finds the line of a value by its path of mapping keys and
// sequence indexes, for semantic errors found after decoding.
type lineIndex struct{ root *yaml.Node }

func (l lineIndex) of(path ...string) int {
	n := l.root
	if n == nil {
		return 0
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	line := n.Line
	for _, key := range path {
		var next *yaml.Node
		switch n.Kind {
		case yaml.MappingNode:
			for i := 0; i+1 < len(n.Content); i += 2 {
				if n.Content[i].Value == key {
					next = n.Content[i+1]
					line = n.Content[i].Line
					break
				}
			}
		case yaml.SequenceNode:
			if idx, err := strconv.Atoi(key); err == nil && idx < len(n.Content) {
				next = n.Content[idx]
				line = next.Line
			}
		}
		if next == nil {
			return line
		}
		n = next
		if n.Kind == yaml.ScalarNode {
			line = n.Line
		}
	}
	return line
}

func yamlErrLine(err error) int {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
	}
	if i := strings.Index(msg, "line "); i >= 0 {
		rest := msg[i+5:]
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		if n, err := strconv.Atoi(rest[:j]); err == nil {
			return n
		}
	}
	return 0
}

func cleanYAMLErr(err error) string {
	msg := err.Error()
	var te *yaml.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = strings.Join(te.Errors, "; ")
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	// The line is already in the prefix; keep the message itself.
	if i := strings.Index(msg, "line "); i == 0 {
		if j := strings.Index(msg, ": "); j > 0 {
			msg = msg[j+2:]
		}
	}
	return msg
}
