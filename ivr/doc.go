// Package ivr loads, validates and runs call flows written in YAML.
//
// A flow file:
//
//	tenant: demo                 # optional, informational
//	description: Main line       # optional
//	start: welcome               # first step
//	steps:                       # step name -> step
//	  welcome:
//	    play: welcome
//	    next: main_menu
//
// Each step has exactly one kind key, plus `next` where the kind needs it.
// Step names: letters, digits, _ . -. Durations need a unit (5s, 500ms).
// Prompt names: letters, digits, _ . - and / between parts.
//
//	play: NAME | [NAME, ...] | {prompt: NAME|[...], interruptible: false}
//	  next: STEP (required)
//	  Non-interruptible prompts discard keys pressed meanwhile; interruptible
//	  ones stop at a key and keep it for the next menu or gather.
//
//	menu:
//	  prompt: NAME|[...]           required, interruptible
//	  options: {"1": STEP, ...}    keys 0-9, "*", "#" (quote * and #), or
//	    "1": {next: STEP, say: [PHRASE, ...]}     a key callers may also say
//	    lost_card: {next: STEP, say: [PHRASE]}    a speech-only option
//	  speech: {confirm_below: 0.6, reject_below: 0.3, help: [TEXT, ...], enabled: true}
//	  timeout: 5s                  wait for a key after the prompt
//	  retries: 3                   failed attempts before failure (1-20)
//	  invalid: NAME|[...]          after a key with no option, then repeat
//	  no_input: NAME|[...]         after timeout, then repeat
//	  failure: STEP                default: hang up (cause normal)
//
//	gather:
//	  prompt: NAME|[...]           required, interruptible
//	  digits: 8                    maximum, required (1-64)
//	  min_digits: 1                fewer is invalid
//	  terminator: "#"              "#" or "*"; default none
//	  timeout: 5s                  wait for the first digit
//	  inter_digit_timeout: 3s      wait for each further digit
//	  into: VAR                    required
//	  retries: 3
//	  invalid: NAME|[...]
//	  no_input: NAME|[...]
//	  failure: STEP                default: hang up
//	  mask: false                  true keeps the digits out of the timeline
//	  speech: {...}                as for menus; callers may say the digits
//	next: STEP (required)        `failure:` may also sit here, beside next
//
//	say: "text ${var}" | {text: "...", interruptible: false}
//	next: STEP (required)        spoken by Env.Synthesizer; skipped without one
//
//	set: {VAR: "text ${other}", ...}   in order; unset ${vars} are ""
//	next: STEP (required)
//
//	branch: {var: VAR, cases: {VALUE: STEP, ...}, default: STEP}
//
//	hours:
//	  timezone: Europe/Paris       optional; default the tenant's zone
//	  open:                        required, list of windows
//	    - {days: mon-fri, from: "08:00", to: "18:00"}
//	    - {days: "sat,sun", from: "09:00", to: "24:00"}
//	  holidays: ["2026-12-25"]     closed all day, added to the tenant's
//	  open_step: STEP
//	  closed_step: STEP
//	  days: mon..sun (or full names), ranges a-b (may wrap: fri-mon), lists
//	  with commas. from < to, HH:MM, to may be 24:00; windows do not cross
//	  midnight (use two). Times are local wall-clock times, so DST needs
//	  nothing special.
//
//	goto: STEP
//	hangup: true | CAUSE | {cause: CAUSE}   causes: normal, busy, rejected, unavailable
//	queue: NAME | {name: NAME, music: default, timeout: 10m, timeout_step: STEP}
//	  For now holds with music until the caller hangs up, or until timeout
//	  (then timeout_step, default hang up).
//
//	stasis: APP | {app: APP, args: [VALUE, ...], next: STEP, failed: STEP}
//	next: STEP (optional, here or inside stasis)
//	  Hands the call to ARI application APP (Env.Stasis), like Asterisk's
//	  Stasis(): args are ${var} expanded; the flow goes on at next when the
//	  application continues the call (continueInDialplan; its label, when it
//	  names a step, wins), at failed (default: next) when the application is
//	  not connected. STASISSTATUS is set to SUCCESS or FAILED. Without a step
//	  to go to the call hangs up (cause normal, or unavailable on FAILED).
//	  APP: letters, digits, _ . -.
//
//	lookup:
//	  url: "${crm}/verify?pin=${pin}"   required; values after ? are query-escaped
//	  method: GET                  or POST (body: JSON object of send's variables)
//	  send: [VAR, ...]             POST only
//	  timeout: 3s                  at most 10s
//	  into: VAR                    required: INTO.FIELD, INTO.status, INTO.error
//	  next: STEP                   required, here or beside lookup
//	  failure: STEP                network error, timeout, non-2xx, not JSON,
//	                               over 64 KB; default: next
//	  A 2xx JSON object's fields become INTO.FIELD (numbers and booleans in
//	  their JSON text, objects flattened to INTO.A.B, arrays skipped).
//	  Masked gathers' values never reach the timeline.
//
//	ask:
//	  prompt: NAME | [NAME, ...]   or say: "text ${var}" (synthesized); one required
//	  intents: [INTENT, ...]       optional: only these are answered
//	  min_confidence: 0.5          in [0,1]
//	  timeout: 6s                  no speech after the prompt: a miss
//	  max_speech: 12s              at most 1m
//	  retry_prompt: NAME           or retry_say: after the first miss
//	  answered: STEP               required
//	  queue: STEP                  required: low confidence, "agent", key 0,
//	                               no answer, a second miss
//	  The caller's words are transcribed by Env.Transcriber, matched by
//	  Env.Intents, answered from Env.Answers (a WAV clip, or text expanded
//	  and synthesized); outcomes go to Env.AskLog (ask.go).
//
// Validation (ParseFlow, LoadFlow, CheckFiles) reports every problem as
// FILE:LINE: message: YAML syntax, unknown or duplicate keys, unknown step
// kinds, two kinds in a step, missing or superfluous next, references to
// missing steps, bad durations, menu keys, digit counts, times, dates and
// time zones, unknown prompts (when CheckOptions.PromptExists is set),
// application names, lookup URLs, methods and timeouts, and loops made only
// of set/branch/hours/goto/lookup steps and stasis failovers. Unreachable steps are
// warnings ("FILE:LINE: warning: ..."): they do not stop a flow from
// loading nor count as errors in CheckFiles.
//
// With Env.Recognizer set, menus with phrases and gathers listen while their
// prompts play (Channel.Listen): speech or a key barges in, a key always
// wins, a middling confidence is confirmed ("Did you say ...?") through
// Env.Synthesizer, and failed attempts get escalating help. Phrases are
// checked against CheckOptions.Vocabulary when set. Flow.MenuGrammar gives
// a step's grammar to tools.
//
// Run interprets a flow against a Channel and reports a timeline through
// Env.Events; see the Event* constants for kinds and data.
package ivr
