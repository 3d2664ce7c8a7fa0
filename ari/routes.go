package ari

import "net/http"

// The call-control operations, in Asterisk's resource documents' order.
// Parameters and error codes follow Asterisk 18's ARI documents.

func bodyParam(name, desc string) param {
	return param{Name: name, Description: desc, ParamType: "body", DataType: "containers"}
}

func str(name, desc string, required bool) param {
	return queryParam(name, desc, "string", required, false)
}

func num(name, desc string) param { return queryParam(name, desc, "int", false, false) }

func (s *Server) channelOperations() []operation {
	chID := pathParam("channelId", "Channel's id")
	notFound := errorResponse{404, "Channel not found"}
	conflict := errorResponse{409, "Channel not in a Stasis application"}
	op := func(method, path, nick, summary, class string, h http.HandlerFunc, ps []param, errs ...errorResponse) operation {
		return operation{Resource: "channels", Method: method, Path: path, Nickname: nick, Summary: summary, ResponseClass: class, Params: ps, Errors: errs, handle: h}
	}
	originateParams := []param{str("endpoint", "Endpoint to call (PJSIP/NUMBER@TRUNK or PJSIP/sip:URI).", true),
		str("app", "The application that is subscribed to the originated channel.", true),
		queryParam("appArgs", "The application arguments to pass to the Stasis application.", "string", false, false),
		str("callerId", "CallerID to use when dialing the endpoint or extension.", false),
		num("timeout", "Timeout (in seconds) before giving up dialing, or -1 for no timeout."),
		bodyParam("variables", "The \"variables\" key in the body object holds variable key/value pairs to set on the channel on creation."),
		str("channelId", "The unique id to assign the channel on creation.", false)}
	playParams := []param{queryParam("media", "Media URIs to play.", "string", true, true), str("lang", "For sounds, selects language for sound.", false),
		num("offsetms", "Number of milliseconds to skip before playing."), num("skipms", "Number of milliseconds to skip for forward/reverse operations."),
		str("playbackId", "Playback ID.", false)}
	mute := []param{chID, str("direction", "Direction in which to mute audio (both, in, out)", false)}
	return []operation{
		op("GET", "/channels", "list", "List all active channels in Asterisk.", "List[Channel]", s.listChannels, nil),
		op("POST", "/channels", "originate", "Create a new channel (originate).", "Channel", withParams(s.originate), originateParams,
			errorResponse{400, "Invalid parameters for originating a channel."}, errorResponse{409, "Channel with given unique ID already exists."}),
		op("GET", "/channels/{channelId}", "get", "Channel details.", "Channel", s.getChannel, []param{chID}, notFound),
		op("POST", "/channels/{channelId}", "originateWithId", "Create a new channel (originate with id).", "Channel", withParams(s.originate),
			append([]param{chID}, originateParams[:len(originateParams)-1]...), errorResponse{400, "Invalid parameters for originating a channel."}, errorResponse{409, "Channel with given unique ID already exists."}),
		op("DELETE", "/channels/{channelId}", "hangup", "Delete (i.e. hangup) a channel.", "void", withParams(s.hangupChannel),
			[]param{chID, str("reason_code", "The reason code for hanging up the channel (Q.850).", false), str("reason", "Reason for hanging up the channel.", false)},
			errorResponse{400, "Invalid reason for hangup provided"}, notFound),
		op("POST", "/channels/{channelId}/continue", "continueInDialplan", "Exit application; continue execution in the dialplan.", "void", withParams(s.continueChannel),
			[]param{chID, str("context", "The context to continue to.", false), str("extension", "The extension to continue to.", false),
				num("priority", "The priority to continue to."), str("label", "The label to continue to (a step of the flow).", false)}, notFound, conflict),
		op("POST", "/channels/{channelId}/redirect", "redirect", "Redirect the channel to a different location.", "void", withParams(s.redirectChannel),
			[]param{chID, str("endpoint", "The endpoint to redirect the channel to (PJSIP/NUMBER@TRUNK)", true)},
			errorResponse{400, "Endpoint parameter not provided"}, notFound, conflict, errorResponse{412, "Channel in invalid state"},
			errorResponse{422, "Endpoint is not the same type as the channel"}),
		op("POST", "/channels/{channelId}/answer", "answer", "Answer a channel.", "void", s.answerChannel, []param{chID}, notFound, conflict),
		op("POST", "/channels/{channelId}/ring", "ring", "Indicate ringing to a channel.", "void", s.ringChannel, []param{chID}, notFound, conflict),
		op("DELETE", "/channels/{channelId}/ring", "ringStop", "Stop ringing indication on a channel if locally generated.", "void", s.ringChannel, []param{chID}, notFound, conflict),
		op("POST", "/channels/{channelId}/dtmf", "sendDTMF", "Send provided DTMF to a given channel.", "void", withParams(s.sendDTMF),
			[]param{chID, str("dtmf", "DTMF To send.", false), num("before", "Amount of time to wait before DTMF digits (specified in milliseconds) start."),
				num("between", "Amount of time in between DTMF digits (specified in milliseconds)."), num("duration", "Length of each DTMF digit (specified in milliseconds)."),
				num("after", "Amount of time to wait after DTMF digits (specified in milliseconds) end.")},
			errorResponse{400, "DTMF is required"}, notFound, conflict),
		op("POST", "/channels/{channelId}/mute", "mute", "Mute a channel.", "void", withParams(s.muteChannel), mute, errorResponse{400, "Invalid direction"}, notFound, conflict),
		op("DELETE", "/channels/{channelId}/mute", "unmute", "Unmute a channel.", "void", withParams(s.muteChannel), mute, errorResponse{400, "Invalid direction"}, notFound, conflict),
		op("POST", "/channels/{channelId}/hold", "hold", "Hold a channel.", "void", s.holdChannel, []param{chID}, notFound, conflict),
		op("DELETE", "/channels/{channelId}/hold", "unhold", "Remove a channel from hold.", "void", s.holdChannel, []param{chID}, notFound, conflict),
		op("POST", "/channels/{channelId}/moh", "startMoh", "Play music on hold to a channel.", "void", s.mohChannel(false),
			[]param{chID, str("mohClass", "Music on hold class to use", false)}, notFound, conflict),
		op("DELETE", "/channels/{channelId}/moh", "stopMoh", "Stop playing music on hold to a channel.", "void", s.mohChannel(false), []param{chID}, notFound, conflict),
		op("POST", "/channels/{channelId}/silence", "startSilence", "Play silence to a channel.", "void", s.mohChannel(true), []param{chID}, notFound, conflict),
		op("DELETE", "/channels/{channelId}/silence", "stopSilence", "Stop playing silence to a channel.", "void", s.mohChannel(true), []param{chID}, notFound, conflict),
		op("POST", "/channels/{channelId}/play", "play", "Start playback of media.", "Playback", withParams(s.playChannel),
			append([]param{chID}, playParams...), errorResponse{400, "Invalid media URI"}, notFound, conflict),
		op("POST", "/channels/{channelId}/play/{playbackId}", "playWithId", "Start playback of media and specify the playbackId.", "Playback", withParams(s.playChannel),
			append([]param{chID, pathParam("playbackId", "Playback ID.")}, playParams[:4]...), errorResponse{400, "Invalid media URI"}, notFound, conflict),
		op("POST", "/channels/{channelId}/record", "record", "Start a recording.", "LiveRecording", withParams(s.recordChannel), recordParams(chID),
			errorResponse{400, "Invalid parameters"}, notFound, errorResponse{409, "Channel is not in a Stasis application; the channel is currently bridged with other channels; A recording with the same name already exists on the system and can not be overwritten because it is in progress or ifExists=fail"},
			errorResponse{422, "The format specified is unknown on this system"}),
		op("POST", "/channels/{channelId}/snoop", "snoopChannel", "Start snooping.", "Channel", withParams(s.snoopChannel), snoopParams(chID, true),
			errorResponse{400, "Invalid parameters"}, notFound),
		op("POST", "/channels/{channelId}/snoop/{snoopId}", "snoopChannelWithId", "Start snooping, with an id.", "Channel", withParams(s.snoopChannel),
			snoopParams(chID, false), errorResponse{400, "Invalid parameters"}, notFound),
		op("GET", "/channels/{channelId}/variable", "getChannelVar", "Get the value of a channel variable or function.", "Variable", withParams(s.getChannelVar),
			[]param{chID, str("variable", "The channel variable or function to get", true)}, errorResponse{400, "Missing variable parameter."}, errorResponse{404, "Channel or variable not found"}),
		op("POST", "/channels/{channelId}/variable", "setChannelVar", "Set the value of a channel variable or function.", "void", withParams(s.setChannelVar),
			[]param{chID, str("variable", "The channel variable or function to set", true), str("value", "The value to set the variable to", false)},
			errorResponse{400, "Missing variable parameter."}, notFound),
	}
}

func recordParams(target param) []param {
	return []param{target, str("name", "Recording's filename", true), str("format", "Format to encode audio in (wav)", true),
		num("maxDurationSeconds", "Maximum duration of the recording, in seconds. 0 for no limit"),
		num("maxSilenceSeconds", "Maximum duration of silence, in seconds. 0 for no limit"),
		str("ifExists", "Action to take if a recording with the same name already exists (fail, overwrite, append).", false),
		queryParam("beep", "Play beep when recording begins", "boolean", false, false),
		str("terminateOn", "DTMF input to terminate recording (none, any, *, #)", false)}
}

func (s *Server) bridgeOperations() []operation {
	bID := pathParam("bridgeId", "Bridge's id")
	notFound := errorResponse{404, "Bridge not found"}
	op := func(method, path, nick, summary, class string, h http.HandlerFunc, ps []param, errs ...errorResponse) operation {
		return operation{Resource: "bridges", Method: method, Path: path, Nickname: nick, Summary: summary, ResponseClass: class, Params: ps, Errors: errs, handle: h}
	}
	create := []param{queryParam("type", "Comma separated list of bridge type attributes (mixing, holding, dtmf_events, proxy_media).", "string", false, false),
		str("bridgeId", "Unique ID to give to the bridge being created.", false), str("name", "Name to give to the bridge being created.", false)}
	chans := queryParam("channel", "Ids of channels to add to bridge", "string", true, true)
	chanErrs := []errorResponse{{400, "Channel not found"}, notFound, {409, "Bridge not in Stasis application; Channel currently recording"}, {422, "Channel not in Stasis application"}}
	play := []param{bID, queryParam("media", "Media URIs to play.", "string", true, true), str("lang", "For sounds, selects language for sound.", false),
		num("offsetms", "Number of milliseconds to skip before playing."), num("skipms", "Number of milliseconds to skip for forward/reverse operations."),
		str("playbackId", "Playback Id.", false)}
	return []operation{
		op("GET", "/bridges", "list", "List all active bridges in Asterisk.", "List[Bridge]", s.listBridges, nil),
		op("POST", "/bridges", "create", "Create a new bridge.", "Bridge", withParams(s.createBridge), create),
		op("POST", "/bridges/{bridgeId}", "createWithId", "Create a new bridge or updates an existing one.", "Bridge", withParams(s.createBridge),
			[]param{bID, create[0], create[2]}, errorResponse{409, "Bridge with the same id already exists"}),
		op("GET", "/bridges/{bridgeId}", "get", "Get bridge details.", "Bridge", s.getBridge, []param{bID}, notFound),
		op("DELETE", "/bridges/{bridgeId}", "destroy", "Shut down a bridge.", "void", s.destroyBridge, []param{bID}, notFound),
		op("POST", "/bridges/{bridgeId}/addChannel", "addChannel", "Add a channel to a bridge.", "void", withParams(s.addChannel),
			[]param{bID, chans, str("role", "Channel's role in the bridge", false), queryParam("absorbDTMF", "Absorb DTMF coming from this channel, preventing it to pass through to the bridge", "boolean", false, false),
				queryParam("mute", "Mute audio from this channel, preventing it to pass through to the bridge", "boolean", false, false)}, chanErrs...),
		op("POST", "/bridges/{bridgeId}/removeChannel", "removeChannel", "Remove a channel from a bridge.", "void", withParams(s.removeChannel),
			[]param{bID, chans}, errorResponse{400, "Channel not found"}, notFound, errorResponse{409, "Bridge not in Stasis application"}, errorResponse{422, "Channel not in this bridge"}),
		op("POST", "/bridges/{bridgeId}/moh", "startMoh", "Play music on hold to a bridge or change the MOH class that is playing.", "void", s.mohBridge,
			[]param{bID, str("mohClass", "Channel's id", false)}, notFound),
		op("DELETE", "/bridges/{bridgeId}/moh", "stopMoh", "Stop playing music on hold to a bridge.", "void", s.mohBridge, []param{bID}, notFound),
		op("POST", "/bridges/{bridgeId}/play", "play", "Start playback of media on a bridge.", "Playback", withParams(s.playBridge), play, errorResponse{400, "Invalid media URI"}, notFound),
		op("POST", "/bridges/{bridgeId}/play/{playbackId}", "playWithId", "Start playback of media on a bridge, with an id.", "Playback", withParams(s.playBridge),
			append([]param{bID, pathParam("playbackId", "Playback ID.")}, play[1:5]...), errorResponse{400, "Invalid media URI"}, notFound),
		op("POST", "/bridges/{bridgeId}/record", "record", "Start a recording.", "LiveRecording", withParams(s.recordBridge), recordParams(bID),
			errorResponse{400, "Invalid parameters"}, notFound, errorResponse{409, "A recording with the same name is in progress"}, errorResponse{422, "The format specified is unknown on this system"}),
	}
}

func (s *Server) playbackOperations() []operation {
	pID := pathParam("playbackId", "Playback's id")
	notFound := errorResponse{404, "The playback cannot be found"}
	return []operation{
		{Resource: "playbacks", Method: "GET", Path: "/playbacks/{playbackId}", Nickname: "get", Summary: "Get a playback's details.", ResponseClass: "Playback",
			Params: []param{pID}, Errors: []errorResponse{notFound}, handle: s.getPlayback},
		{Resource: "playbacks", Method: "DELETE", Path: "/playbacks/{playbackId}", Nickname: "stop", Summary: "Stop a playback.", ResponseClass: "void",
			Params: []param{pID}, Errors: []errorResponse{notFound}, handle: s.stopPlayback},
		{Resource: "playbacks", Method: "POST", Path: "/playbacks/{playbackId}/control", Nickname: "control", Summary: "Control a playback.", ResponseClass: "void",
			Params: []param{pID, str("operation", "Operation to perform on the playback (restart, pause, unpause, reverse, forward).", true)},
			Errors: []errorResponse{{400, "The provided operation parameter was invalid"}, notFound, {409, "The operation cannot be performed in the playback's current state"}},
			handle: withParams(s.controlPlayback)},
	}
}

func (s *Server) recordingOperations() []operation {
	name := pathParam("recordingName", "The name of the recording")
	op := func(method, path, nick, summary, class string, h http.HandlerFunc, ps []param, errs ...errorResponse) operation {
		return operation{Resource: "recordings", Method: method, Path: path, Nickname: nick, Summary: summary, ResponseClass: class, Params: ps, Errors: errs, handle: h}
	}
	nf := errorResponse{404, "Recording not found"}
	session := errorResponse{409, "Recording not in session"}
	return []operation{
		op("GET", "/recordings/stored", "listStored", "List recordings that are complete.", "List[StoredRecording]", s.listStored, nil),
		op("GET", "/recordings/stored/{recordingName}", "getStored", "Get a stored recording's details.", "StoredRecording", s.getStored, []param{name}, nf),
		op("DELETE", "/recordings/stored/{recordingName}", "deleteStored", "Delete a stored recording.", "void", s.deleteStored, []param{name}, nf),
		op("GET", "/recordings/stored/{recordingName}/file", "getStoredFile", "Get the file associated with the stored recording.", "binary", s.storedFile, []param{name},
			errorResponse{403, "The recording file could not be opened"}, nf),
		op("POST", "/recordings/stored/{recordingName}/copy", "copyStored", "Copy a stored recording.", "StoredRecording", withParams(s.copyStored),
			[]param{name, str("destinationRecordingName", "The destination name of the recording", true)}, nf, errorResponse{409, "A recording with the same name already exists on the system"}),
		op("GET", "/recordings/live/{recordingName}", "getLive", "List live recordings.", "LiveRecording", s.getLive, []param{name}, nf),
		op("DELETE", "/recordings/live/{recordingName}", "cancel", "Stop a live recording and discard it.", "void", s.cancelLive, []param{name}, nf),
		op("POST", "/recordings/live/{recordingName}/stop", "stop", "Stop a live recording and store it.", "void", s.stopLive, []param{name}, nf),
		op("POST", "/recordings/live/{recordingName}/pause", "pause", "Pause a live recording.", "void", s.pauseLive(), []param{name}, nf, session),
		op("DELETE", "/recordings/live/{recordingName}/pause", "unpause", "Unpause a live recording.", "void", s.pauseLive(), []param{name}, nf, session),
		op("POST", "/recordings/live/{recordingName}/mute", "mute", "Mute a live recording.", "void", s.muteLive(), []param{name}, nf, session),
		op("DELETE", "/recordings/live/{recordingName}/mute", "unmute", "Unmute a live recording.", "void", s.muteLive(), []param{name}, nf, session),
	}
}

func (s *Server) endpointOperations() []operation {
	tech := pathParam("tech", "Technology of the endpoints (PJSIP, WebRTC)")
	return []operation{
		{Resource: "endpoints", Method: "GET", Path: "/endpoints", Nickname: "list", Summary: "List all endpoints.", ResponseClass: "List[Endpoint]", handle: s.listEndpoints},
		{Resource: "endpoints", Method: "GET", Path: "/endpoints/{tech}", Nickname: "listByTech", Summary: "List available endoints for a given endpoint technology.",
			ResponseClass: "List[Endpoint]", Params: []param{tech}, Errors: []errorResponse{{404, "Endpoints not found"}}, handle: s.listEndpoints},
		{Resource: "endpoints", Method: "GET", Path: "/endpoints/{tech}/{resource}", Nickname: "get", Summary: "Details for an endpoint.",
			ResponseClass: "Endpoint", Params: []param{tech, pathParam("resource", "ID of the endpoint")},
			Errors: []errorResponse{{400, "Invalid parameters for sending a message."}, {404, "Endpoints not found"}}, handle: s.getEndpoint},
	}
}

func (s *Server) soundOperations() []operation {
	return []operation{
		{Resource: "sounds", Method: "GET", Path: "/sounds", Nickname: "list", Summary: "List all sounds.", ResponseClass: "List[Sound]",
			Params: []param{str("lang", "Lookup sound for a specific language.", false), str("format", "Lookup sound in a specific format.", false)},
			handle: s.opt.Sounds.handleList},
		{Resource: "sounds", Method: "GET", Path: "/sounds/{soundId}", Nickname: "get", Summary: "Get a sound's details.", ResponseClass: "Sound",
			Params: []param{pathParam("soundId", "Sound's id")}, Errors: []errorResponse{{404, "Sound not found"}}, handle: s.opt.Sounds.handleGet},
	}
}

func snoopParams(chID param, withID bool) []param {
	ps := []param{chID}
	if !withID {
		ps = append(ps, pathParam("snoopId", "Unique ID to assign to snooping channel"))
	}
	ps = append(ps, str("spy", "Direction of audio to spy on (none, both, out, in)", false),
		str("whisper", "Direction of audio to whisper into (none, out; in is not supported)", false),
		str("app", "Application the snooping channel is placed into", true),
		queryParam("appArgs", "The application arguments to pass to the Stasis application", "string", false, false))
	if withID {
		ps = append(ps, str("snoopId", "Unique ID to assign to snooping channel", false))
	}
	return ps
}
