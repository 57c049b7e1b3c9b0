package natsout

import "bytes"

// chunk is a run of whole lines that fits one message.
type chunk struct {
	data   []byte
	points int
}

// splitLines cuts line protocol into chunks of at most limit bytes, on line
// boundaries. The collector's batches come from lineprotocol.Encoder, which
// escapes newlines inside string values, so every '\n' ends a point. A
// single line longer than limit cannot be sent at all; it is left out and
// counted in dropped.
func splitLines(data []byte, limit int) (chunks []chunk, dropped int) {
	start, points := 0, 0
	flush := func(to int) {
		if to > start {
			chunks = append(chunks, chunk{data: data[start:to], points: points})
		}
		points = 0
	}
	for pos := 0; pos < len(data); {
		end := len(data)
		if i := bytes.IndexByte(data[pos:], '\n'); i >= 0 {
			end = pos + i + 1
		}
		isPoint := end-pos > 1 || data[pos] != '\n'
		switch {
		case end-pos > limit:
			flush(pos)
			start = end
			if isPoint {
				dropped++
			}
		case end-start > limit:
			flush(pos)
			start = pos
			if isPoint {
				points = 1
			}
		case isPoint:
			points++
		}
		pos = end
	}
	flush(len(data))
	return chunks, dropped
}
