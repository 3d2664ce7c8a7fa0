// Hotline checklist panel (agent page, and the wallboard for a monitored
// call): the steps of the caller's kind of call ("Lost or stolen card:
// verify identity, block the card..."), pushed by the server as
// `checklist` messages ({call, checklist: {checklist, title, reason,
// steps: [{id, title, done, by, evidence}]}}) whenever a step is ticked by
// its condition (an IVR result, a lookup, words said) or by hand. The
// agent ticks or unticks a step with its box, which sends checklist_tick;
// the server's answer is the next checklist message.
//
// Evidence quotes what callers said: it is only put in the page as text.

import { el } from './common.js';

// createChecklistPanel renders into root. send (optional) ticks steps; a
// panel without it is read-only (the supervisor's).
export function createChecklistPanel(root, { send } = {}) {
  const state = { call: null, checklist: null, pushes: 0, ticks: 0 };
  const title = el('h2', { className: 'cl-title', textContent: 'Checklist' });
  const reason = el('p', { className: 'muted small cl-reason' });
  const list = el('ol', { className: 'cl-steps' });
  const progress = el('p', { className: 'small cl-progress' }, [], { role: 'status', 'aria-live': 'polite' });
  root.replaceChildren(title, reason, progress, list);

  function render() {
    const cl = state.checklist;
    root.hidden = !cl;
    if (!cl) {
      list.replaceChildren();
      return;
    }
    title.textContent = cl.title || 'Checklist';
    reason.textContent = cl.reason ? `Chosen because ${cl.reason}` : '';
    const steps = Array.isArray(cl.steps) ? cl.steps : [];
    const done = steps.filter((s) => s.done).length;
    progress.textContent = `${done} of ${steps.length} done`;
    list.replaceChildren(...steps.map((s) => {
      const id = `cl-${s.id}`;
      const box = el('input', { type: 'checkbox', id, checked: !!s.done, disabled: !send });
      box.dataset.step = s.id;
      box.addEventListener('change', () => {
        state.ticks++;
        send({ type: 'checklist_tick', call: state.call, step: s.id, done: box.checked });
      });
      const by = s.done ? (s.by === 'agent' ? 'by hand' : 'auto') : '';
      const label = el('label', { htmlFor: id, className: 'cl-label' }, [
        el('span', { className: 'cl-step-title', textContent: s.title || s.id }),
        by ? el('span', { className: `cl-by cl-by-${s.by}`, textContent: by }) : document.createTextNode(''),
      ]);
      const evidence = s.evidence ? el('p', { className: 'cl-evidence small', textContent: s.evidence }) : null;
      const li = el('li', { className: s.done ? 'cl-step cl-done' : 'cl-step' }, evidence ? [box, label, evidence] : [box, label]);
      li.dataset.step = s.id;
      return li;
    }));
  }

  return {
    state,
    // handle takes a checklist message.
    handle(msg) {
      if (!msg || !msg.checklist) return;
      if (state.call && msg.call !== state.call && state.checklist) return; // another call's
      state.pushes++;
      state.call = msg.call;
      state.checklist = msg.checklist;
      render();
    },
    // callStarted forgets the last call's checklist (kept through wrap-up).
    callStarted(call) {
      if (state.call === call) return;
      state.call = call;
      state.checklist = null;
      render();
    },
    clear() {
      state.call = null;
      state.checklist = null;
      render();
    },
  };
}

// initChecklist builds the agent page's panel inside #checklist.
export function initChecklist({ send }) {
  const panel = createChecklistPanel(document.getElementById('checklist'), { send });
  window.hotlineChecklist = panel.state;
  return panel;
}
