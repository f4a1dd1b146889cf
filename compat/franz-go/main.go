// franz-go (github.com/twmb/franz-go/pkg/kgo) against kbroker: one small program per step, driven by
// compat/scenarios/franz_go.py through the command line described in
// compat/scenarios/program_client.py (the same one compat/kafkajs/client.js speaks):
//
//	kbroker-franz-go version
//	kbroker-franz-go create-topic BOOTSTRAP TOPIC PARTITIONS
//	kbroker-franz-go produce BOOTSTRAP TOPIC [CODEC]    JSON records on stdin, [[partition, offset], ...] out
//	kbroker-franz-go consume BOOTSTRAP TOPIC GROUP ENDS a group consumer reads from the start up to ENDS
//	kbroker-franz-go member BOOTSTRAP TOPIC GROUP CLIENT_ID SESSION_MS
//	kbroker-franz-go produce-stream BOOTSTRAP TOPIC    "PARTITION VALUE" lines on stdin, each sent as it
//	                                                   is read; "A <partition> <offset> <value>" out per
//	                                                   acknowledged record, "E <value> <error>" per failure
//
// BOOTSTRAP may list several brokers, comma-separated.  KBROKER_CLIENT_LOG=debug|info writes
// franz-go's own log to stderr (which metadata it refreshed and why).
// The producer is franz-go's default: idempotent, acks=all, the sticky key partitioner (murmur2 for
// keyed records), unless a record names its partition.  Consumers use franz-go's default group
// balancer, cooperative-sticky.
package main

import (
	"bufio"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// rec is a produced record as the scenarios send it: []byte fields are base64 in JSON (null stays
// null); a header is [key, base64 value or null].
type rec struct {
	P  *int32       `json:"p"`
	K  []byte       `json:"k"`
	V  []byte       `json:"v"`
	H  [][2]*string `json:"h"`
	TS *int64       `json:"ts"`
}

var codecs = map[string]kgo.CompressionCodec{
	"none":   kgo.NoCompression(),
	"gzip":   kgo.GzipCompression(),
	"snappy": kgo.SnappyCompression(),
	"lz4":    kgo.Lz4Compression(),
	"zstd":   kgo.ZstdCompression(),
}

const stepTimeout = 90 * time.Second

func client(bootstrap string, opts ...kgo.Opt) (*kgo.Client, error) {
	base := []kgo.Opt{kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.ClientID("kbroker-compat-franz-go")}
	if l := logger(); l != nil {
		base = append(base, kgo.WithLogger(l))
	}
	return kgo.NewClient(append(base, opts...)...)
}

func logger() kgo.Logger {
	levels := map[string]kgo.LogLevel{"debug": kgo.LogLevelDebug, "info": kgo.LogLevelInfo, "warn": kgo.LogLevelWarn}
	level, ok := levels[os.Getenv("KBROKER_CLIENT_LOG")]
	if !ok {
		return nil
	}
	return kgo.BasicLogger(os.Stderr, level, func() string { return time.Now().UTC().Format("15:04:05.000 ") })
}

func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, m := range bi.Deps {
			if m.Path == "github.com/twmb/franz-go" {
				return m.Version
			}
		}
	}
	return "unknown"
}

func createTopic(bootstrap, topic, partitions string) error {
	n, err := strconv.Atoi(partitions)
	if err != nil {
		return err
	}
	cl, err := client(bootstrap)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	resp, err := kadm.NewClient(cl).CreateTopic(ctx, int32(n), 1, nil, topic)
	if err != nil {
		return err
	}
	return resp.Err
}

func produce(bootstrap, topic string, codec string) error {
	c, ok := codecs[codec]
	if !ok {
		return fmt.Errorf("unknown codec %q", codec)
	}
	var records []*kgo.Record
	manual := false
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	for sc.Scan() {
		if len(sc.Bytes()) == 0 {
			continue
		}
		var r rec
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return err
		}
		kr := &kgo.Record{Topic: topic, Key: r.K, Value: r.V}
		for _, h := range r.H {
			if h[0] == nil {
				return errors.New("a header without a key")
			}
			var v []byte
			if h[1] != nil {
				b, err := base64.StdEncoding.DecodeString(*h[1])
				if err != nil {
					return err
				}
				v = b
			}
			kr.Headers = append(kr.Headers, kgo.RecordHeader{Key: *h[0], Value: v})
		}
		if r.TS != nil {
			kr.Timestamp = time.UnixMilli(*r.TS)
		}
		if r.P != nil {
			kr.Partition = *r.P
			manual = true
		}
		records = append(records, kr)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	opts := []kgo.Opt{kgo.ProducerBatchCompression(c), kgo.RecordRetries(10)}
	if manual {
		opts = append(opts, kgo.RecordPartitioner(kgo.ManualPartitioner()))
	}
	cl, err := client(bootstrap, opts...)
	if err != nil {
		return err
	}
	defer cl.Close()
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, r := range records {
		wg.Add(1)
		cl.Produce(ctx, r, func(r *kgo.Record, err error) {
			defer wg.Done()
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("%d records failed, first: %w", len(errs), errs[0])
	}
	positions := make([][2]int64, len(records))
	for i, r := range records {
		positions[i] = [2]int64{int64(r.Partition), r.Offset}
	}
	return json.NewEncoder(os.Stdout).Encode(positions)
}

// produceStream sends every "PARTITION VALUE" line of stdin as soon as it is read (franz-go's default
// producer: idempotent, acks=all, retried until delivered or two minutes have passed) and reports each
// record's outcome on its own flushed line, so that a driver sees acknowledgements while it feeds
// more.  It exits once stdin is closed and every record has an outcome.
func produceStream(bootstrap, topic string) error {
	cl, err := client(bootstrap, kgo.RecordPartitioner(kgo.ManualPartitioner()),
		kgo.RecordDeliveryTimeout(2*time.Minute))
	if err != nil {
		return err
	}
	defer cl.Close()
	var mu sync.Mutex
	out := bufio.NewWriter(os.Stdout)
	report := func(format string, args ...any) {
		mu.Lock()
		defer mu.Unlock()
		fmt.Fprintf(out, format, args...)
		out.Flush()
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		ps, value, ok := strings.Cut(line, " ")
		p, perr := strconv.Atoi(ps)
		if !ok || perr != nil {
			return fmt.Errorf("bad line %q", line)
		}
		wg.Add(1)
		cl.Produce(ctx, &kgo.Record{Topic: topic, Partition: int32(p), Value: []byte(value)},
			func(r *kgo.Record, err error) {
				defer wg.Done()
				if err != nil {
					report("E %s %v\n", r.Value, err)
				} else {
					report("A %d %d %s\n", r.Partition, r.Offset, r.Value)
				}
			})
	}
	if err := sc.Err(); err != nil {
		return err
	}
	wg.Wait()
	return nil
}

func toRec(r *kgo.Record) map[string]any {
	h := make([][2]any, 0, len(r.Headers))
	for _, x := range r.Headers {
		var v any
		if x.Value != nil {
			v = x.Value // encoding/json writes []byte as base64
		}
		h = append(h, [2]any{x.Key, v})
	}
	var k, v any
	if r.Key != nil {
		k = r.Key
	}
	if r.Value != nil {
		v = r.Value
	}
	return map[string]any{"p": r.Partition, "o": r.Offset, "k": k, "v": v, "h": h,
		"ts": r.Timestamp.UnixMilli(), "tt": r.Attrs.TimestampType()}
}

func consume(bootstrap, topic, group, endsJSON string) error {
	var ends map[string]int64
	if err := json.Unmarshal([]byte(endsJSON), &ends); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), stepTimeout)
	defer cancel()
	if ends == nil {
		cl, err := client(bootstrap)
		if err != nil {
			return err
		}
		listed, err := kadm.NewClient(cl).ListEndOffsets(ctx, topic)
		cl.Close()
		if err != nil {
			return err
		}
		if err := listed.Error(); err != nil {
			return err
		}
		ends = map[string]int64{}
		listed.Each(func(o kadm.ListedOffset) { ends[strconv.Itoa(int(o.Partition))] = o.Offset })
	}
	todo := map[int32]int64{}
	for p, e := range ends {
		n, err := strconv.Atoi(p)
		if err != nil {
			return err
		}
		if e > 0 {
			todo[int32(n)] = e
		}
	}
	cl, err := client(bootstrap, kgo.ConsumerGroup(group), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit())
	if err != nil {
		return err
	}
	defer cl.Close()
	out := bufio.NewWriter(os.Stdout)
	enc := json.NewEncoder(out)
	for len(todo) > 0 {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return fmt.Errorf("timed out; partitions left: %v", todo)
		}
		var ferr error
		fetches.EachError(func(t string, p int32, err error) { ferr = fmt.Errorf("%s[%d]: %w", t, p, err) })
		if ferr != nil {
			return ferr
		}
		var encErr error
		fetches.EachRecord(func(r *kgo.Record) {
			if err := enc.Encode(toRec(r)); err != nil {
				encErr = err
			}
			if end, ok := todo[r.Partition]; ok && r.Offset+1 >= end {
				delete(todo, r.Partition)
			}
		})
		if encErr != nil {
			return encErr
		}
	}
	return out.Flush()
}

func member(bootstrap, topic, group, clientID, sessionMs string) error {
	ms, err := strconv.Atoi(sessionMs)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	opts := []kgo.Opt{kgo.SeedBrokers(strings.Split(bootstrap, ",")...), kgo.ClientID(clientID), kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.DisableAutoCommit(),
		kgo.SessionTimeout(time.Duration(ms) * time.Millisecond), kgo.HeartbeatInterval(500 * time.Millisecond)}
	if l := logger(); l != nil {
		opts = append(opts, kgo.WithLogger(l))
	}
	cl, err := kgo.NewClient(opts...)
	if err != nil {
		return err
	}
	defer cl.Close() // leaves the group
	out := bufio.NewWriter(os.Stdout)
	for {
		fetches := cl.PollFetches(ctx)
		if ctx.Err() != nil {
			return nil
		}
		fetches.EachError(func(t string, p int32, err error) {
			fmt.Fprintf(os.Stderr, "fetch error %s[%d]: %v\n", t, p, err)
		})
		records := fetches.Records()
		if len(records) == 0 {
			continue
		}
		for _, r := range records {
			fmt.Fprintf(out, "V %d %d %s\n", r.Partition, r.Offset, r.Value)
		}
		if err := out.Flush(); err != nil {
			return err
		}
		if err := cl.CommitRecords(ctx, records...); err != nil && !errors.Is(err, context.Canceled) {
			fmt.Fprintf(os.Stderr, "commit: %v\n", err)
		}
	}
}

func run(args []string) error {
	if len(args) == 0 {
		return errors.New("no command")
	}
	need := map[string]int{"version": 0, "create-topic": 3, "produce": 2, "consume": 4, "member": 5, "produce-stream": 2}
	n, ok := need[args[0]]
	if !ok || len(args)-1 < n {
		return fmt.Errorf("usage: %s with %d arguments (got %v)", args[0], n, args[1:])
	}
	a := args[1:]
	switch args[0] {
	case "version":
		fmt.Println(version())
		return nil
	case "create-topic":
		return createTopic(a[0], a[1], a[2])
	case "produce":
		codec := "none"
		if len(a) > 2 {
			codec = a[2]
		}
		return produce(a[0], a[1], codec)
	case "consume":
		return consume(a[0], a[1], a[2], a[3])
	case "produce-stream":
		return produceStream(a[0], a[1])
	default:
		return member(a[0], a[1], a[2], a[3], a[4])
	}
}

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "franz-go client error: %v\n", err)
		os.Exit(1)
	}
}
