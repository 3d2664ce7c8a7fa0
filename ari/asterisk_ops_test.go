package ari

// asteriskOp is one operation of Asterisk's ARI, as its Swagger
// documents (rest-api/api-docs/*.json) describe it.
type asteriskOp struct {
	Resource, Method, Path, Nickname string
}

// asteriskOps lists every operation of Asterisk 18's ARI (the last 18.x
// release's rest-api/api-docs: asterisk, endpoints, channels, bridges,
// recordings, sounds, playbacks, deviceStates, mailboxes, events,
// applications), in the documents' order. The compatibility table in
// docs/ari.md has one row for each (TestCompatibilityTable).
var asteriskOps = []asteriskOp{
	// asterisk.json
	{"asterisk", "GET", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}", "getObject"},
	{"asterisk", "PUT", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}", "updateObject"},
	{"asterisk", "DELETE", "/asterisk/config/dynamic/{configClass}/{objectType}/{id}", "deleteObject"},
	{"asterisk", "GET", "/asterisk/info", "getInfo"},
	{"asterisk", "GET", "/asterisk/ping", "ping"},
	{"asterisk", "GET", "/asterisk/modules", "listModules"},
	{"asterisk", "GET", "/asterisk/modules/{moduleName}", "getModule"},
	{"asterisk", "POST", "/asterisk/modules/{moduleName}", "loadModule"},
	{"asterisk", "DELETE", "/asterisk/modules/{moduleName}", "unloadModule"},
	{"asterisk", "PUT", "/asterisk/modules/{moduleName}", "reloadModule"},
	{"asterisk", "GET", "/asterisk/logging", "listLogChannels"},
	{"asterisk", "POST", "/asterisk/logging/{logChannelName}", "addLog"},
	{"asterisk", "DELETE", "/asterisk/logging/{logChannelName}", "deleteLog"},
	{"asterisk", "PUT", "/asterisk/logging/{logChannelName}/rotate", "rotateLog"},
	{"asterisk", "GET", "/asterisk/variable", "getGlobalVar"},
	{"asterisk", "POST", "/asterisk/variable", "setGlobalVar"},

	// endpoints.json
	{"endpoints", "GET", "/endpoints", "list"},
	{"endpoints", "PUT", "/endpoints/sendMessage", "sendMessage"},
	{"endpoints", "GET", "/endpoints/{tech}", "listByTech"},
	{"endpoints", "GET", "/endpoints/{tech}/{resource}", "get"},
	{"endpoints", "PUT", "/endpoints/{tech}/{resource}/sendMessage", "sendMessageToEndpoint"},

	// channels.json
	{"channels", "GET", "/channels", "list"},
	{"channels", "POST", "/channels", "originate"},
	{"channels", "POST", "/channels/create", "create"},
	{"channels", "GET", "/channels/{channelId}", "get"},
	{"channels", "POST", "/channels/{channelId}", "originateWithId"},
	{"channels", "DELETE", "/channels/{channelId}", "hangup"},
	{"channels", "POST", "/channels/{channelId}/continue", "continueInDialplan"},
	{"channels", "POST", "/channels/{channelId}/move", "move"},
	{"channels", "POST", "/channels/{channelId}/redirect", "redirect"},
	{"channels", "POST", "/channels/{channelId}/answer", "answer"},
	{"channels", "POST", "/channels/{channelId}/ring", "ring"},
	{"channels", "DELETE", "/channels/{channelId}/ring", "ringStop"},
	{"channels", "POST", "/channels/{channelId}/dtmf", "sendDTMF"},
	{"channels", "POST", "/channels/{channelId}/mute", "mute"},
	{"channels", "DELETE", "/channels/{channelId}/mute", "unmute"},
	{"channels", "POST", "/channels/{channelId}/hold", "hold"},
	{"channels", "DELETE", "/channels/{channelId}/hold", "unhold"},
	{"channels", "POST", "/channels/{channelId}/moh", "startMoh"},
	{"channels", "DELETE", "/channels/{channelId}/moh", "stopMoh"},
	{"channels", "POST", "/channels/{channelId}/silence", "startSilence"},
	{"channels", "DELETE", "/channels/{channelId}/silence", "stopSilence"},
	{"channels", "POST", "/channels/{channelId}/play", "play"},
	{"channels", "POST", "/channels/{channelId}/play/{playbackId}", "playWithId"},
	{"channels", "POST", "/channels/{channelId}/record", "record"},
	{"channels", "GET", "/channels/{channelId}/variable", "getChannelVar"},
	{"channels", "POST", "/channels/{channelId}/variable", "setChannelVar"},
	{"channels", "POST", "/channels/{channelId}/snoop", "snoopChannel"},
	{"channels", "POST", "/channels/{channelId}/snoop/{snoopId}", "snoopChannelWithId"},
	{"channels", "POST", "/channels/{channelId}/dial", "dial"},
	{"channels", "GET", "/channels/{channelId}/rtp_statistics", "rtpstatistics"},
	{"channels", "POST", "/channels/externalMedia", "externalMedia"},

	// bridges.json
	{"bridges", "GET", "/bridges", "list"},
	{"bridges", "POST", "/bridges", "create"},
	{"bridges", "POST", "/bridges/{bridgeId}", "createWithId"},
	{"bridges", "GET", "/bridges/{bridgeId}", "get"},
	{"bridges", "DELETE", "/bridges/{bridgeId}", "destroy"},
	{"bridges", "POST", "/bridges/{bridgeId}/addChannel", "addChannel"},
	{"bridges", "POST", "/bridges/{bridgeId}/removeChannel", "removeChannel"},
	{"bridges", "POST", "/bridges/{bridgeId}/videoSource/{channelId}", "setVideoSource"},
	{"bridges", "DELETE", "/bridges/{bridgeId}/videoSource", "clearVideoSource"},
	{"bridges", "POST", "/bridges/{bridgeId}/moh", "startMoh"},
	{"bridges", "DELETE", "/bridges/{bridgeId}/moh", "stopMoh"},
	{"bridges", "POST", "/bridges/{bridgeId}/play", "play"},
	{"bridges", "POST", "/bridges/{bridgeId}/play/{playbackId}", "playWithId"},
	{"bridges", "POST", "/bridges/{bridgeId}/record", "record"},

	// recordings.json
	{"recordings", "GET", "/recordings/stored", "listStored"},
	{"recordings", "GET", "/recordings/stored/{recordingName}", "getStored"},
	{"recordings", "DELETE", "/recordings/stored/{recordingName}", "deleteStored"},
	{"recordings", "GET", "/recordings/stored/{recordingName}/file", "getStoredFile"},
	{"recordings", "POST", "/recordings/stored/{recordingName}/copy", "copyStored"},
	{"recordings", "GET", "/recordings/live/{recordingName}", "getLive"},
	{"recordings", "DELETE", "/recordings/live/{recordingName}", "cancel"},
	{"recordings", "POST", "/recordings/live/{recordingName}/stop", "stop"},
	{"recordings", "POST", "/recordings/live/{recordingName}/pause", "pause"},
	{"recordings", "DELETE", "/recordings/live/{recordingName}/pause", "unpause"},
	{"recordings", "POST", "/recordings/live/{recordingName}/mute", "mute"},
	{"recordings", "DELETE", "/recordings/live/{recordingName}/mute", "unmute"},

	// sounds.json
	{"sounds", "GET", "/sounds", "list"},
	{"sounds", "GET", "/sounds/{soundId}", "get"},

	// playbacks.json
	{"playbacks", "GET", "/playbacks/{playbackId}", "get"},
	{"playbacks", "DELETE", "/playbacks/{playbackId}", "stop"},
	{"playbacks", "POST", "/playbacks/{playbackId}/control", "control"},

	// deviceStates.json
	{"deviceStates", "GET", "/deviceStates", "list"},
	{"deviceStates", "GET", "/deviceStates/{deviceName}", "get"},
	{"deviceStates", "PUT", "/deviceStates/{deviceName}", "update"},
	{"deviceStates", "DELETE", "/deviceStates/{deviceName}", "delete"},

	// mailboxes.json
	{"mailboxes", "GET", "/mailboxes", "list"},
	{"mailboxes", "GET", "/mailboxes/{mailboxName}", "get"},
	{"mailboxes", "PUT", "/mailboxes/{mailboxName}", "update"},
	{"mailboxes", "DELETE", "/mailboxes/{mailboxName}", "delete"},

	// events.json
	{"events", "GET", "/events", "eventWebsocket"},
	{"events", "POST", "/events/user/{eventName}", "userEvent"},

	// applications.json
	{"applications", "GET", "/applications", "list"},
	{"applications", "GET", "/applications/{applicationName}", "get"},
	{"applications", "POST", "/applications/{applicationName}/subscription", "subscribe"},
	{"applications", "DELETE", "/applications/{applicationName}/subscription", "unsubscribe"},
	{"applications", "PUT", "/applications/{applicationName}/eventFilter", "filter"},
}
