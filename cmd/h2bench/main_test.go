package main

import "testing"

func TestParseH2load(t *testing.T) {
	report := `finished in 6.00s, 24549.60 req/s, 3.24MB/s
requests: 122748 total, 122748 started, 122748 done, 122740 succeeded, 3 failed, 2 errored, 1 timeout
status codes: 122731 2xx, 0 3xx, 4 4xx, 1 5xx
traffic: 16.18MB (16969899) total, 4.60MB (4824868) headers (space savings 77.03%), 11.64MB (12201594) data
                     min         max         mean         sd        +/- sd
time for request:       30us     31.39ms      2.52ms      1.80ms    77.99%
`
	r, err := parseH2load(report)
	if err != nil {
		t.Fatal(err)
	}
	if r.reqPerSec != 24549.60 || r.done != 122748 || r.errors != 3+2+1+4+1 || r.meanMS != 2.52 {
		t.Fatalf("%+v", r)
	}
	if _, err := parseH2load("h2load: connection refused"); err == nil {
		t.Fatal("a report without figures parsed")
	}
}
