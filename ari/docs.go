package ari

import (
	"net/http"
	"reflect"
	"slices"
	"strings"
)

// operation is one implemented ARI operation. The table of operations is
// both the router and the Swagger documents, so the documents describe
// exactly what is served.
type operation struct {
	Resource      string // swagger document: asterisk, applications, ...
	Method        string
	Path          string // Asterisk's path below /ari, {param} as in Go's mux
	Nickname      string
	Summary       string
	ResponseClass string
	Params        []param
	Errors        []errorResponse
	Upgrade       bool // a WebSocket (/events)
	handle        http.HandlerFunc
}

type param struct {
	Name          string `json:"name"`
	Description   string `json:"description,omitempty"`
	ParamType     string `json:"paramType"`
	Required      bool   `json:"required"`
	AllowMultiple bool   `json:"allowMultiple"`
	DataType      string `json:"dataType"`
}

type errorResponse struct {
	Code   int    `json:"code"`
	Reason string `json:"reason"`
}

func pathParam(name, desc string) param {
	return param{Name: name, Description: desc, ParamType: "path", Required: true, DataType: "string"}
}

func queryParam(name, desc, dataType string, required, multiple bool) param {
	return param{Name: name, Description: desc, ParamType: "query", Required: required, AllowMultiple: multiple, DataType: dataType}
}

// resources lists the Swagger documents in resources.json order, with
// the models each one carries.
var resourceOrder = []struct {
	name, description string
	models            []any
}{
	{"asterisk", "Asterisk resources", []any{AsteriskInfo{}, BuildInfo{}, SystemInfo{}, ConfigInfo{}, SetID{}, StatusInfo{}, Variable{}}},
	{"applications", "Stasis application resources", []any{Application{}}},
	{"endpoints", "Endpoint resources", []any{Endpoint{}}},
	{"channels", "Channel resources", []any{Channel{}, CallerID{}, DialplanCEP{}, Variable{}, Playback{}, LiveRecording{}}},
	{"bridges", "Bridge resources", []any{Bridge{}, Playback{}, LiveRecording{}}},
	{"recordings", "Recording resources", []any{StoredRecording{}, LiveRecording{}}},
	{"sounds", "Sound resources", []any{Sound{}, FormatLangPair{}}},
	{"playbacks", "Playback control resources", []any{Playback{}}},
	{"events", "WebSocket resource", eventModels()},
}

// eventModels are the event types the hub can deliver, with the models
// they embed.
func eventModels() []any {
	return []any{Event{}, StasisStart{}, StasisEnd{}, ChannelStateChange{}, ChannelDtmfReceived{},
		ChannelHangupRequest{}, ChannelDestroyed{}, ChannelEnteredBridge{}, ChannelLeftBridge{},
		BridgeCreated{}, BridgeDestroyed{}, PlaybackStarted{}, PlaybackFinished{}, RecordingStarted{},
		RecordingFinished{}, ChannelVarset{}, ChannelUserevent{}, Channel{}, CallerID{}, DialplanCEP{},
		Bridge{}, Playback{}, LiveRecording{}}
}

func (s *Server) operations() []operation {
	var ops []operation
	ops = append(ops, s.baseOperations()...)
	ops = append(ops, s.endpointOperations()...)
	ops = append(ops, s.channelOperations()...)
	ops = append(ops, s.bridgeOperations()...)
	ops = append(ops, s.recordingOperations()...)
	ops = append(ops, s.soundOperations()...)
	ops = append(ops, s.playbackOperations()...)
	return ops
}

func (s *Server) baseOperations() []operation {
	app := pathParam("applicationName", "Application's name")
	source := queryParam("eventSource", "URI for event source (channel:{channelId}, bridge:{bridgeId}, endpoint:{tech}[/{resource}], deviceState:{deviceName}", "string", true, true)
	return []operation{
		{Resource: "asterisk", Method: "GET", Path: "/asterisk/info", Nickname: "getInfo", Summary: "Gets Asterisk system information.",
			ResponseClass: "AsteriskInfo", Params: []param{queryParam("only", "Filter information returned (build, system, config, status)", "string", false, true)},
			handle: s.info},
		{Resource: "asterisk", Method: "GET", Path: "/asterisk/variable", Nickname: "getGlobalVar", Summary: "Get the value of a global variable.",
			ResponseClass: "Variable", Params: []param{queryParam("variable", "The variable to get", "string", true, false)},
			Errors: []errorResponse{{400, "Missing variable parameter."}, {404, "Variable not found."}}, handle: s.variable},
		{Resource: "applications", Method: "GET", Path: "/applications", Nickname: "list", Summary: "List all applications.",
			ResponseClass: "List[Application]", handle: s.listApplications},
		{Resource: "applications", Method: "GET", Path: "/applications/{applicationName}", Nickname: "get", Summary: "Get details of an application.",
			ResponseClass: "Application", Params: []param{app}, Errors: []errorResponse{{404, "Application does not exist."}}, handle: s.getApplication},
		{Resource: "applications", Method: "POST", Path: "/applications/{applicationName}/subscription", Nickname: "subscribe", Summary: "Subscribe an application to a event source.",
			ResponseClass: "Application", Params: []param{app, source},
			Errors: []errorResponse{{400, "Missing parameter."}, {404, "Application does not exist."}, {422, "Event source does not exist."}}, handle: s.subscription},
		{Resource: "applications", Method: "DELETE", Path: "/applications/{applicationName}/subscription", Nickname: "unsubscribe", Summary: "Unsubscribe an application from an event source.",
			ResponseClass: "Application", Params: []param{app, source},
			Errors: []errorResponse{{400, "Missing parameter; event source scheme not recognized."}, {404, "Application does not exist."}, {409, "Application not subscribed to event source."}, {422, "Event source does not exist."}},
			handle: s.subscription},
		{Resource: "events", Method: "GET", Path: "/events", Nickname: "eventWebsocket", Summary: "WebSocket connection for events.",
			ResponseClass: "Message", Upgrade: true,
			Params: []param{queryParam("app", "Applications to subscribe to.", "string", true, true),
				queryParam("subscribeAll", "Subscribe to all events of the tenant.", "boolean", false, false)},
			handle: s.events},
		{Resource: "events", Method: "POST", Path: "/events/user/{eventName}", Nickname: "userEvent", Summary: "Generate a user event.",
			ResponseClass: "void",
			Params: []param{pathParam("eventName", "Event name"), queryParam("application", "The name of the application that will receive this event", "string", true, false),
				queryParam("source", "URI for event source (not supported yet: 422)", "string", false, true),
				{Name: "variables", Description: "The \"variables\" key in the body object holds custom key/value pairs to add to the user event.", ParamType: "body", DataType: "containers"}},
			Errors: []errorResponse{{400, "Invalid JSON body."}, {404, "Application does not exist."}, {422, "Event source not found."}},
			handle: s.userEvent},
	}
}

// apiDocs serves resources.json and the per-resource documents. basePath
// is this request's own address, as Asterisk writes it, so clients follow
// the documents to the server they asked.
func (s *Server) apiDocs(w http.ResponseWriter, r *http.Request) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	base := scheme + "://" + r.Host + "/ari"
	doc := r.PathValue("doc")
	if doc == "resources.json" {
		var apis []map[string]any
		for _, res := range resourceOrder {
			apis = append(apis, map[string]any{"path": "/api-docs/" + res.name + ".{format}", "description": res.description})
		}
		writeJSON(w, http.StatusOK, map[string]any{"apiVersion": apiVersion, "swaggerVersion": "1.2", "basePath": base, "apis": apis})
		return
	}
	name, ok := strings.CutSuffix(doc, ".json")
	i := slices.IndexFunc(resourceOrder, func(x struct {
		name, description string
		models            []any
	}) bool {
		return x.name == name
	})
	if !ok || i < 0 {
		writeError(w, http.StatusNotFound, "Resource not found")
		return
	}
	writeJSON(w, http.StatusOK, s.resourceDoc(base, resourceOrder[i].name, resourceOrder[i].models))
}

// apiVersion is the ARI version of Asterisk 18.0.0, which these documents
// follow.
const apiVersion = "7.0.0"

func (s *Server) resourceDoc(base, name string, models []any) map[string]any {
	var apis []map[string]any
	byPath := map[string]int{}
	for _, o := range s.operations() {
		if o.Resource != name {
			continue
		}
		op := map[string]any{"httpMethod": o.Method, "summary": o.Summary, "nickname": o.Nickname,
			"responseClass": o.ResponseClass, "parameters": nonNil(o.Params), "errorResponses": nonNil(o.Errors)}
		if o.Upgrade {
			op["upgrade"] = "websocket"
			op["websocketProtocol"] = "ari"
		}
		i, seen := byPath[o.Path]
		if !seen {
			i = len(apis)
			byPath[o.Path] = i
			apis = append(apis, map[string]any{"path": o.Path, "description": o.Summary, "operations": []map[string]any{}})
		}
		apis[i]["operations"] = append(apis[i]["operations"].([]map[string]any), op)
	}
	ms := map[string]any{}
	for _, m := range models {
		id, model := swaggerModel(reflect.TypeOf(m))
		ms[id] = model
	}
	if name == "events" {
		// Message is the WebSocket's response class: every event is one.
		ms["Message"] = map[string]any{"id": "Message", "description": "Base type for errors and events",
			"discriminator": "type", "properties": map[string]any{
				"type":        map[string]any{"type": "string", "required": true},
				"asterisk_id": map[string]any{"type": "string", "required": false}},
			"subTypes": []string{"Event"}}
	}
	return map[string]any{"apiVersion": apiVersion, "swaggerVersion": "1.2", "basePath": base,
		"resourcePath": "/api-docs/" + name + ".{format}", "apis": apis, "models": ms}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// swaggerModel describes a Go model type in Swagger 1.2 from its JSON
// tags, so the documents cannot drift from what is sent. Event types
// extend Event, as in Asterisk's events.json.
func swaggerModel(t reflect.Type) (string, map[string]any) {
	id := modelID(t)
	props := map[string]any{}
	m := map[string]any{"id": id, "properties": props}
	for f := range t.Fields() {
		if f.Anonymous && f.Type == reflect.TypeFor[Event]() {
			m["extends"] = "Event"
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "" || name == "-" {
			continue
		}
		props[name] = map[string]any{"type": swaggerType(f.Type), "required": !strings.Contains(opts, "omitempty")}
	}
	if id == "Event" {
		m["extends"] = "Message"
		m["discriminator"] = "type"
		var subs []string
		for _, e := range eventModels() {
			et := reflect.TypeOf(e)
			if f, ok := et.FieldByName("Event"); ok && f.Anonymous {
				subs = append(subs, et.Name())
			}
		}
		m["subTypes"] = subs
	}
	return id, m
}

func modelID(t reflect.Type) string {
	if t == reflect.TypeFor[SetID]() {
		return "SetId" // Asterisk's spelling
	}
	return t.Name()
}

func swaggerType(t reflect.Type) string {
	if t == reflect.TypeFor[Time]() {
		return "Date"
	}
	switch t.Kind() {
	case reflect.Pointer:
		return swaggerType(t.Elem())
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Int, reflect.Int32:
		return "int"
	case reflect.Int64:
		return "long"
	case reflect.Float32, reflect.Float64:
		return "double"
	case reflect.Slice:
		return "List[" + swaggerType(t.Elem()) + "]"
	case reflect.Map:
		return "object"
	case reflect.Struct:
		return modelID(t)
	}
	return "object"
}
