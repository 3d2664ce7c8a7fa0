// Package chat is Hotline's chat sessions: a visitor's chat from the
// widget a company embeds in its web page, or a user's from a messaging
// channel plugged in by webhook, answered first by the knowledge base's
// bot and then, on request, by an agent; its routing through the same
// queues and agents as calls; and its transcript.
//
// One Service serves one tenant. Like queue.Runtime it is owned by one
// goroutine (Run) that every input reaches through an inbox, so the state
// needs no locks and nothing the owner calls may block: peers' Send only
// queues, the knowledge base is asked on a goroutine of its own, store
// rows go through a writer goroutine, webhook replies through a sender
// goroutine per channel.
//
// The routing decision is router (router.go), a clock-free core in the
// spirit of package acd: an agent connected on the agent page whose ACD
// state is not break, missed or offline may hold up to MaxPerAgent chats
// whatever their call state (at most one call is the ACD's business, and
// chats do not count against it). The chat goes to the eligible agent of
// its queue with the fewest open chats, then the longest since their last
// chat. Chats wait in one line, in order; an agent who logs out or drops
// their page sends their chats back to the front. See docs/chat.md.
package chat
