package job

import (
	"context"
	"encoding/gob"
	"fmt"
	"io"
	"os"
	"sync"

	"github.com/aws/aws-sdk-go-v2/aws"
	cip "github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider"
	"github.com/aws/aws-sdk-go-v2/service/cognitoidentityprovider/types"

	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/cognito"
	"github.com/cognito-mfa-migrate/cognito-mfa-migrate/job/input"
)

// DefaultListChains is the number of ListUsers pagination chains an export
// follows at once (ExportConfig.Chains).
const DefaultListChains = 16

// chainPrefixes returns the sub prefixes that split a pool into n disjoint
// listings: "" for 1, the 16 hex digits for 16, the 256 pairs for 256. A
// user's sub is a lower-case UUID, so every user matches exactly one prefix
// (reference §10).
func chainPrefixes(n int) []string {
	const hex = "0123456789abcdef"
	switch n {
	case 1:
		return []string{""}
	case 16:
		out := make([]string, 16)
		for i := range out {
			out[i] = hex[i : i+1]
		}
		return out
	case 256:
		out := make([]string, 0, 256)
		for i := range 16 {
			for j := range 16 {
				out = append(out, hex[i:i+1]+hex[j:j+1])
			}
		}
		return out
	}
	return nil
}

// chainPage is one ListUsers page of one chain, as the chain's goroutine
// hands it to the writer.
type chainPage struct {
	chain int
	recs  []input.ExportRecord // the rows to write
	last  bool                 // the chain has no more pages
}

// listChains lists pool as chains disjoint ListUsers chains (Filter sub ^=
// "<prefix>", pageSize users a page), paged in parallel through api (which
// paces them under one limiter), and writes the rows that rowsOf keeps of
// each page to ew in chain order, each chain in its page order: a stable
// order that does not depend on which chain answers first. rowsOf is called
// on the chains' goroutines, concurrently; written is told how many rows
// each page added. The chain being written streams straight to ew; pages
// of later chains wait in temporary files (unlinked at once where the
// system allows, removed on every return) until their turn, so memory does
// not grow with the pool. The first failing chain stops the others: its
// error is returned as listErr, unclassified (the chains it stopped fail
// after it); writeErr is an error writing the output.
func listChains(ctx context.Context, api cognito.ListUsersAPI, pool string, chains int, pageSize int32,
	rowsOf func([]types.UserType) []input.ExportRecord, written func(int), ew *input.ExportWriter) (listErr, writeErr error) {
	prefixes := chainPrefixes(chains)
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	pages := make(chan chainPage, len(prefixes))
	var (
		wg      sync.WaitGroup
		errOnce sync.Once
	)
	fail := func(err error) {
		errOnce.Do(func() { listErr = err; cancel() })
	}
	for i, p := range prefixes {
		wg.Go(func() {
			if err := listChain(ctx, api, pool, p, pageSize, i, rowsOf, pages); err != nil {
				fail(err)
			}
		})
	}
	go func() { wg.Wait(); close(pages) }()

	w := &chainWriter{ew: ew, spills: make([]*spill, len(prefixes)), ended: make([]bool, len(prefixes))}
	defer w.close()
	for pg := range pages {
		if writeErr != nil {
			continue // drain, so that the chains can end
		}
		if err := w.add(pg); err != nil {
			writeErr = fmt.Errorf("write the export: %w", err)
			cancel()
			continue
		}
		written(len(pg.recs))
	}
	switch {
	case writeErr != nil:
		return nil, writeErr
	case listErr != nil:
		return listErr, nil
	case w.head != len(prefixes):
		return nil, fmt.Errorf("export: %d of %d ListUsers chains did not end", len(prefixes)-w.head, len(prefixes))
	}
	return nil, nil
}

// listChain pages one chain and sends its pages to pages.
func listChain(ctx context.Context, api cognito.ListUsersAPI, pool, prefix string, pageSize int32, chain int,
	rowsOf func([]types.UserType) []input.ExportRecord, pages chan<- chainPage) error {
	in := &cip.ListUsersInput{UserPoolId: aws.String(pool)}
	if prefix != "" {
		in.Filter = aws.String(`sub ^= "` + prefix + `"`)
	}
	p := cip.NewListUsersPaginator(api, in, func(o *cip.ListUsersPaginatorOptions) { o.Limit = pageSize })
	for {
		page, err := p.NextPage(ctx)
		if err != nil {
			return err
		}
		pg := chainPage{chain: chain, last: !p.HasMorePages(), recs: rowsOf(page.Users)}
		select {
		case pages <- pg:
		case <-ctx.Done():
			return ctx.Err()
		}
		if pg.last {
			return nil
		}
	}
}

// chainWriter puts the chains' pages in chain order. It is owned by
// listChains' goroutine.
type chainWriter struct {
	ew     *input.ExportWriter
	head   int      // the chain being written; chains before it are done
	spills []*spill // pages of chains after head, waiting
	ended  []bool   // the chain's last page has arrived
}

func (w *chainWriter) add(pg chainPage) error {
	if pg.chain == w.head {
		if err := w.write(pg.recs); err != nil {
			return err
		}
	} else if len(pg.recs) > 0 {
		if w.spills[pg.chain] == nil {
			s, err := newSpill()
			if err != nil {
				return err
			}
			w.spills[pg.chain] = s
		}
		if err := w.spills[pg.chain].put(pg.recs); err != nil {
			return err
		}
	}
	if !pg.last {
		return nil
	}
	w.ended[pg.chain] = true
	// Move on past every chain that has ended, copying its waiting pages.
	for w.head < len(w.ended) && w.ended[w.head] {
		w.head++
		if w.head == len(w.ended) {
			break
		}
		if s := w.spills[w.head]; s != nil {
			if err := s.drain(w.write); err != nil {
				return err
			}
			s.close()
			w.spills[w.head] = nil
		}
	}
	return nil
}

func (w *chainWriter) write(recs []input.ExportRecord) error {
	for _, r := range recs {
		if err := w.ew.Write(r); err != nil {
			return err
		}
	}
	return nil
}

func (w *chainWriter) close() {
	for _, s := range w.spills {
		if s != nil {
			s.close()
		}
	}
}

// spill holds the pages of one chain in a temporary file (mode 0600:
// usernames), gob-encoded.
type spill struct {
	f   *os.File
	enc *gob.Encoder
}

func newSpill() (*spill, error) {
	f, err := os.CreateTemp("", "cognito-mfa-migrate-export-*")
	if err != nil {
		return nil, err
	}
	// Unlink at once: the data lives as long as the open file, and nothing
	// is left behind even if the process is killed. (Where an open file
	// cannot be removed, close removes it.)
	_ = os.Remove(f.Name())
	return &spill{f: f, enc: gob.NewEncoder(f)}, nil
}

func (s *spill) put(recs []input.ExportRecord) error {
	return s.enc.Encode(recs)
}

// drain reads the pages back, in the order they were put, into write.
func (s *spill) drain(write func([]input.ExportRecord) error) error {
	if _, err := s.f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	dec := gob.NewDecoder(s.f)
	for {
		var recs []input.ExportRecord
		err := dec.Decode(&recs)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return err
		}
		if err := write(recs); err != nil {
			return err
		}
	}
}

func (s *spill) close() {
	_ = s.f.Close()
	_ = os.Remove(s.f.Name()) // already gone where unlinking open files works
}
