package pocketsphinx

// decimator halves the sample rate of a stream (16 kHz to 8 kHz) with the
// same half-band filter upsample2 interpolates with: the output keeps every
// even input sample at half weight and adds the odd neighbours through the
// interpolation kernel, which low-passes at 3.8 kHz before the rate drops.
// It keeps the input's tail between writes, so chunk boundaries leave no
// trace.
type decimator struct {
	buf []int16 // input not yet consumed, starting 2*halfTaps-1 samples before the next center
}

func newDecimator() *decimator {
	// Zeros stand for the audio before the stream, so the first output
	// sample has its full history.
	return &decimator{buf: make([]int16, 2*halfTaps-1)}
}

// push appends the outputs that in completes to dst and returns it.
func (d *decimator) push(dst, in []int16) []int16 {
	d.buf = append(d.buf, in...)
	const back = 2*halfTaps - 1 // odd taps before the center reach this far
	i := back                   // the next center, an even stream sample
	for ; i+back < len(d.buf); i += 2 {
		acc := 0.5 * float64(d.buf[i])
		for j, w := range upKernel {
			acc += 0.5 * w * float64(d.buf[i+2*(j-halfTaps)+1])
		}
		dst = append(dst, clamp16(acc))
	}
	d.buf = append(d.buf[:0], d.buf[i-back:]...)
	return dst
}

// flush completes the stream with silence after its end.
func (d *decimator) flush(dst []int16) []int16 {
	n := len(d.buf) - (2*halfTaps - 1)
	if n <= 0 {
		return dst
	}
	before := len(dst)
	dst = d.push(dst, make([]int16, 2*halfTaps))
	return dst[:before+(n+1)/2]
}
