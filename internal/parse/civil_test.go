package parse

import (
	"math/rand/v2"
	"testing"
	"time"
)

func TestUnixFromCivilMatchesTimeDate(t *testing.T) {
	cases := [][6]int{
		{1970, 1, 1, 0, 0, 0}, {2000, 2, 29, 23, 59, 60}, {2100, 2, 29, 0, 0, 0},
		{2026, 12, 31, 23, 59, 59}, {2027, 1, 1, 0, 0, 0}, {0, 1, 1, 0, 0, 0},
		{9999, 12, 31, 23, 59, 59}, {2026, 2, 31, 12, 0, 0}, {1600, 3, 1, 0, 0, 0},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		cases = append(cases, [6]int{r.IntN(10000), 1 + r.IntN(12), 1 + r.IntN(31), r.IntN(24), r.IntN(60), r.IntN(61)})
	}
	for _, c := range cases {
		want := time.Date(c[0], time.Month(c[1]), c[2], c[3], c[4], c[5], 0, time.UTC).Unix()
		if got := unixFromCivil(c[0], c[1], c[2], c[3], c[4], c[5]); got != want {
			t.Fatalf("%v: got %d, want %d", c, got, want)
		}
	}
}
