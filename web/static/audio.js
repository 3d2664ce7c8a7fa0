// Sounds and measurements made with WebAudio: the ring tone, and the
// dominant frequency of a MediaStream (used by the end-to-end test and handy
// when checking a headset).

let ctx = null;

function audioContext() {
  if (!ctx) ctx = new AudioContext();
  if (ctx.state === 'suspended') ctx.resume().catch(() => {});
  return ctx;
}

// Ringer plays the North American ring cadence (440 + 480 Hz, 2 s on,
// 4 s off) quietly until stopped.
export class Ringer {
  constructor() {
    this.timer = null;
    this.nodes = [];
  }

  start() {
    if (this.timer) return;
    const burst = () => this.burst(2);
    try {
      burst();
    } catch {
      return; // no audio output: the visual ring still shows
    }
    this.timer = setInterval(burst, 6000);
  }

  burst(seconds) {
    const ac = audioContext();
    const gain = ac.createGain();
    const t = ac.currentTime;
    gain.gain.setValueAtTime(0, t);
    gain.gain.linearRampToValueAtTime(0.08, t + 0.02);
    gain.gain.setValueAtTime(0.08, t + seconds - 0.02);
    gain.gain.linearRampToValueAtTime(0, t + seconds);
    gain.connect(ac.destination);
    for (const f of [440, 480]) {
      const osc = ac.createOscillator();
      osc.frequency.value = f;
      osc.connect(gain);
      osc.start(t);
      osc.stop(t + seconds);
      osc.onended = () => {
        osc.disconnect();
        this.nodes = this.nodes.filter((n) => n !== osc);
      };
      this.nodes.push(osc);
    }
    setTimeout(() => gain.disconnect(), seconds * 1000 + 100);
  }

  stop() {
    clearInterval(this.timer);
    this.timer = null;
    for (const n of this.nodes) {
      try { n.stop(); } catch { /* already stopped */ }
    }
    this.nodes = [];
  }
}

// Analyser measures a MediaStream's spectrum. The stream must also be
// playing in an <audio> element, or Chromium delivers silence to WebAudio.
export class Analyser {
  constructor(stream) {
    const ac = audioContext();
    this.source = ac.createMediaStreamSource(stream);
    this.node = ac.createAnalyser();
    this.node.fftSize = 8192;
    this.node.smoothingTimeConstant = 0;
    this.source.connect(this.node);
    this.bins = new Float32Array(this.node.frequencyBinCount);
    this.rate = ac.sampleRate;
  }

  // peak is the frequency (Hz) of the loudest bin now, and its level (dB).
  peak() {
    this.node.getFloatFrequencyData(this.bins);
    let best = 1; // skip DC
    for (let i = 2; i < this.bins.length; i++) {
      if (this.bins[i] > this.bins[best]) best = i;
    }
    return { hz: (best * this.rate) / this.node.fftSize, db: this.bins[best] };
  }

  // dominant samples the spectrum for ms milliseconds and returns the
  // median peak frequency of the frames loud enough to count, or 0 when the
  // stream stayed silent.
  async dominant(ms = 1000) {
    const peaks = [];
    const end = performance.now() + ms;
    while (performance.now() < end) {
      const p = this.peak();
      if (p.db > -90) peaks.push(p.hz);
      await new Promise((r) => setTimeout(r, 50));
    }
    if (!peaks.length) return 0;
    peaks.sort((a, b) => a - b);
    return peaks[Math.floor(peaks.length / 2)];
  }

  close() {
    this.source.disconnect();
    this.node.disconnect();
  }
}
