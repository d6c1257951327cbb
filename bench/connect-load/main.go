// Command connect-load drives Connect (or, with -grpc, gRPC) unary calls: binary protobuf over h2c on one connection,
// like ghz, at a fraction of ghz's CPU per call. Prints one JSON line: count, errors, rps, mean/p50/p99 in ms.
// Closed loop (-c workers, as fast as answered) or open loop at a fixed -rps (a goroutine per call, at most
// -max-inflight at once; latency from the scheduled send time). Bodies come from a file of varint-length-prefixed
// messages, used round-robin; -n stops after that many calls (e.g. each cold key once).
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type headers []string

func (h *headers) String() string     { return strings.Join(*h, ",") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

func readBodies(path string) ([][]byte, error) {
	if path == "" {
		return [][]byte{{}}, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out [][]byte
	for len(data) > 0 {
		n, k := binary.Uvarint(data)
		if k <= 0 || uint64(len(data)-k) < n {
			return nil, fmt.Errorf("%s: bad length prefix", path)
		}
		out = append(out, data[k:k+int(n)])
		data = data[k+int(n):]
	}
	return out, nil
}

func main() {
	url := flag.String("url", "", "RPC URL, e.g. http://127.0.0.1:8080/flux.apikeys.v1.PingService/Ping")
	bodiesPath := flag.String("bodies", "", "file of varint-length-prefixed request messages (empty: one empty message)")
	conc := flag.Int("c", 50, "workers (closed loop)")
	rps := flag.Float64("rps", 0, "fixed request rate (open loop); 0 = closed loop")
	dur := flag.Duration("z", 5*time.Second, "duration")
	total := flag.Int64("n", 0, "stop after this many calls (0 = duration only)")
	maxInflight := flag.Int("max-inflight", 1000, "open loop: calls in flight at most (the schedule waits beyond)")
	expect := flag.String("expect-prefix", "", "hex bytes each response message must start with (e.g. 0801 = valid: true)")
	grpcMode := flag.Bool("grpc", false, "speak gRPC (length-prefixed frames, grpc-status trailer) instead of Connect")
	http1 := flag.Bool("http1", false, "HTTP/1.1 with up to -c keep-alive connections instead of one h2c connection")
	jsonMode := flag.Bool("json", false, "Connect with JSON bodies (application/json): each message's field 1 as {\"key\": ...}")
	expectText := flag.String("expect-text", "", "with -json: text each response must start with (e.g. {\"valid\":true)")
	var hdrs headers
	flag.Var(&hdrs, "H", "header 'name: value' (repeatable)")
	flag.Parse()

	bodies, err := readBodies(*bodiesPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var want []byte
	if *expect != "" {
		fmt.Sscanf(*expect, "%x", &want)
	}
	tr := &http.Transport{Protocols: new(http.Protocols), MaxConnsPerHost: 1}
	if *http1 {
		tr.Protocols.SetHTTP1(true)
		tr.MaxConnsPerHost = *conc
		tr.MaxIdleConnsPerHost = *conc
	} else {
		tr.Protocols.SetUnencryptedHTTP2(true)
	}
	if *jsonMode {
		for i, b := range bodies {
			bodies[i] = toJSON(b)
		}
		want = []byte(*expectText)
	}
	client := &http.Client{Transport: tr, Timeout: 20 * time.Second}

	var next, errs atomic.Int64
	var lateMu sync.Mutex
	late := make([]time.Duration, 0, 1<<16) // open loop: how far behind schedule each call was sent
	var mu sync.Mutex
	lat := make([]time.Duration, 0, 1<<20)
	var firstErr atomic.Value
	if *grpcMode {
		for i, b := range bodies {
			framed := make([]byte, 5+len(b))
			binary.BigEndian.PutUint32(framed[1:5], uint32(len(b)))
			copy(framed[5:], b)
			bodies[i] = framed
		}
		want = append(make([]byte, 5), want...) // flag byte + length, then the message
	}
	call := func(i int64, scheduled time.Time) {
		if *rps > 0 {
			l := time.Since(scheduled)
			lateMu.Lock()
			late = append(late, l)
			lateMu.Unlock()
		}
		req, _ := http.NewRequest("POST", *url, bytes.NewReader(bodies[i%int64(len(bodies))]))
		if *grpcMode {
			req.Header.Set("content-type", "application/grpc")
			req.Header.Set("te", "trailers")
		} else if *jsonMode {
			req.Header.Set("content-type", "application/json")
			req.Header.Set("connect-protocol-version", "1")
		} else {
			req.Header.Set("content-type", "application/proto")
			req.Header.Set("connect-protocol-version", "1")
		}
		for _, h := range hdrs {
			if k, v, ok := strings.Cut(h, ":"); ok {
				req.Header.Set(strings.TrimSpace(k), strings.TrimSpace(v))
			}
		}
		res, err := client.Do(req)
		ok := err == nil
		if ok {
			body, rerr := io.ReadAll(res.Body)
			res.Body.Close()
			ok = rerr == nil && res.StatusCode == 200 && matches(body, want, *grpcMode)
			if *grpcMode {
				status := res.Trailer.Get("grpc-status")
				if status == "" {
					status = res.Header.Get("grpc-status") // trailers-only answer
				}
				ok = ok && status == "0"
			}
			if !ok {
				firstErr.CompareAndSwap(nil, fmt.Sprintf("status %d body %q", res.StatusCode, body))
			}
		} else {
			firstErr.CompareAndSwap(nil, err.Error())
		}
		d := time.Since(scheduled)
		mu.Lock()
		lat = append(lat, d)
		mu.Unlock()
		if !ok {
			errs.Add(1)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), *dur)
	defer cancel()
	start := time.Now()
	var wg sync.WaitGroup
	take := func() (int64, bool) {
		i := next.Add(1) - 1
		return i, (*total == 0 || i < *total) && ctx.Err() == nil
	}
	if *rps > 0 {
		interval := time.Duration(float64(time.Second) / *rps)
		slots := make(chan struct{}, *maxInflight)
		timer := time.NewTimer(time.Hour)
		for k := int64(0); ; k++ {
			at := start.Add(time.Duration(k) * interval)
			if d := time.Until(at); d > 50*time.Microsecond {
				timer.Reset(d)
				select {
				case <-ctx.Done():
				case <-timer.C:
				}
			}
			i, ok := take()
			if !ok {
				break
			}
			slots <- struct{}{}
			wg.Add(1)
			go func() { defer wg.Done(); call(i, at); <-slots }()
		}
	} else {
		for w := 0; w < *conc; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					i, ok := take()
					if !ok {
						return
					}
					call(i, time.Now())
				}
			}()
		}
	}
	wg.Wait()
	elapsed := time.Since(start)
	sort.Slice(lat, func(a, b int) bool { return lat[a] < lat[b] })
	pct := func(p float64) float64 {
		if len(lat) == 0 {
			return 0
		}
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	var sum time.Duration
	for _, d := range lat {
		sum += d
	}
	mean := 0.0
	if len(lat) > 0 {
		mean = float64(sum.Microseconds()) / 1000 / float64(len(lat))
	}
	fe, _ := firstErr.Load().(string)
	sort.Slice(late, func(a, b int) bool { return late[a] < late[b] })
	lateP99 := 0.0
	if len(late) > 0 {
		lateP99 = float64(late[min(len(late)-1, int(0.99*float64(len(late))))].Microseconds()) / 1000
	}
	out := bufio.NewWriter(os.Stdout)
	json.NewEncoder(out).Encode(map[string]any{
		"count": len(lat), "errors": errs.Load(), "rps": float64(len(lat)) / elapsed.Seconds(),
		"meanMs": mean, "p50Ms": pct(0.50), "p99Ms": pct(0.99), "firstError": fe, "sendLateP99Ms": lateP99,
	})
	out.Flush()
}

// matches tells whether the answer starts with want; in gRPC mode the 4 length bytes of the frame are not compared.
func matches(body, want []byte, grpcMode bool) bool {
	if !grpcMode {
		return bytes.HasPrefix(body, want)
	}
	return len(body) >= len(want) && body[0] == 0 && bytes.Equal(body[5:len(want)], want[5:])
}

// toJSON turns a message of at most one length-delimited field 1 (ValidateApiKeyRequest{key}, or the empty
// PingRequest) into its Connect JSON form.
func toJSON(b []byte) []byte {
	if len(b) == 0 {
		return []byte("{}")
	}
	if b[0] != 0x0a {
		panic("toJSON: only field 1 (length-delimited) is supported")
	}
	n, k := binary.Uvarint(b[1:])
	out, _ := json.Marshal(map[string]string{"key": string(b[1+k : 1+k+int(n)])})
	return out
}
