package ivr

// EventKinds lists the timeline events a flow emits, so that other
// configuration naming them (agent-assist checklists) can be checked with
// file and line.
func EventKinds() []string {
	return []string{
		EventStep, EventPrompt, EventDigit, EventMenu, EventMenuInvalid, EventMenuTimeout, EventMenuFailure,
		EventGather, EventGatherInvalid, EventGatherTimeout, EventGatherFailure, EventSet, EventBranch,
		EventHours, EventQueue, EventQueueTimeout, EventHangup, EventFlowEnd,
		EventSpeech, EventSpeechNoMatch, EventSpeechNoInput, EventSpeechConfirm, EventSay,
		EventStasis, EventStasisEnd, EventStasisLabel,
		EventSurvey, EventSurveyAnswer, EventSurveyInvalid, EventSurveySkip, EventSurveyEnd,
		EventLookup, EventLookupFailed, EventAsk,
	}
}
