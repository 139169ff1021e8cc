package plan

import (
	"time"

	"gopkg.in/yaml.v3"
)

// The plan's schema: which keys each mapping of a plan file takes, and into
// which field of Raw each one decodes.

func (d *decoder) plan(doc *yaml.Node) error {
	root := doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if r, err := d.resolve(root); err != nil {
		return err
	} else if isNull(r) {
		return d.fail(r, "", "the plan is empty")
	}
	r := d.r
	d.r.lines[""] = root.Line
	return d.mapping(root, "", append([]field{
		{"name", d.str(&r.Name)},
		{"base_url", d.str(&r.BaseURL)},
		{"headers", d.headers(&r.Headers)},
		{"scenario", d.scenario(&r.Scenario)},
		{"load", d.load(&r.Load)},
		{"think", d.think(&r.Think)},
		{"rps_limit", typed(d, &r.RPSLimit, parseNumber)},
		{"timeout", typed(d, &r.Timeout, parseDuration)},
		{"http_client", d.str(&r.HTTPClient)},
		{"thresholds", d.thresholds(&r.Thresholds)},
		{"http_version", d.str(&r.HTTPVersion)},
		{"keepalive", typed(d, &r.KeepAlive, parseBool)},
		{"tls", d.tls(&r.TLS)},
	}, d.scenarioFields(r)...))
}

// headers decodes a mapping of header names to values, keeping their order.
func (d *decoder) headers(dst *[][2]string) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		pairs, err := d.mappingPairs(n, path, "a mapping of header names to values")
		if err != nil {
			return err
		}
		*dst = (*dst)[:0]
		for _, p := range pairs {
			child := join(path, p.key.Value)
			d.r.lines[child] = p.key.Line
			v, _, err := d.scalar(p.value, child)
			if err != nil {
				return err
			}
			*dst = append(*dst, [2]string{p.key.Value, v})
		}
		return nil
	}
}

func (d *decoder) scenario(s *Scenario) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		return d.mapping(n, path, []field{
			{"setup", d.requests(&s.Setup)},
			{"tasks", d.tasks(&s.Tasks)},
			{"teardown", d.requests(&s.Teardown)},
		})
	}
}

func (d *decoder) requests(dst *[]Request) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		*dst = nil
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			var q Request
			if err := d.request(&q)(e, p); err != nil {
				return err
			}
			*dst = append(*dst, q)
			return nil
		})
		return err
	}
}

func (d *decoder) request(q *Request) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		q.dir = d.r.dir
		if e, err := d.resolve(n); err != nil {
			return err
		} else if e.Kind != yaml.MappingNode {
			return d.fail(e, path, "want a request mapping (name, method, path or url, headers, body), got %s", kindName(e))
		}
		return d.mapping(n, path, append([]field{
			{"name", d.str(&q.Name)},
			{"method", d.str(&q.Method)},
			{"path", d.str(&q.Path)},
			{"url", d.str(&q.URL)},
			{"headers", d.headers(&q.Headers)},
			{"body", d.str(&q.Body)},
		}, d.requestFields(q)...))
	}
}

func (d *decoder) tasks(dst *[]Task) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		*dst = nil
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			var t Task
			var one *Request
			gotList := false
			err := d.mapping(e, p, []field{
				{"name", d.str(&t.Name)},
				{"weight", typed(d, &t.Weight, parseInt)},
				{"requests", func(n *yaml.Node, path string) error {
					gotList = true
					return d.requests(&t.Requests)(n, path)
				}},
				{"request", func(n *yaml.Node, path string) error {
					one = &Request{}
					return d.request(one)(n, path)
				}},
			})
			if err != nil {
				return err
			}
			if one != nil {
				if gotList {
					return d.r.errorAt(p+".request", "give request or requests, not both")
				}
				if one.Name == "" {
					one.Name = t.Name // a task's name names its one request
				}
				t.Requests = []Request{*one}
				t.single = true
			}
			*dst = append(*dst, t)
			return nil
		})
		return err
	}
}

func (d *decoder) load(l *Load) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		return d.mapping(n, path, []field{
			{"vus", typed(d, &l.VUs, parseInt)},
			{"duration", typed(d, &l.Duration, parseDuration)},
			{"stages", d.stages(&l.Stages)},
			{"ramp", func(n *yaml.Node, path string) error {
				l.Ramp = &RampLoad{}
				return d.mapping(n, path, []field{
					{"from", typed(d, &l.Ramp.From, parseInt)},
					{"to", typed(d, &l.Ramp.To, parseInt)},
					{"duration", typed(d, &l.Ramp.Duration, parseDuration)},
				})
			}},
			{"step", func(n *yaml.Node, path string) error {
				l.Step = &StepLoad{}
				return d.mapping(n, path, []field{
					{"start", typed(d, &l.Step.Start, parseInt)},
					{"step", typed(d, &l.Step.Step, parseInt)},
					{"every", typed(d, &l.Step.Every, parseDuration)},
					{"steps", typed(d, &l.Step.Steps, parseInt)},
				})
			}},
			{"spike", func(n *yaml.Node, path string) error {
				l.Spike = &SpikeLoad{}
				return d.mapping(n, path, []field{
					{"base", typed(d, &l.Spike.Base, parseInt)},
					{"peak", typed(d, &l.Spike.Peak, parseInt)},
					{"at", typed(d, &l.Spike.At, parseDuration)},
					{"hold", typed(d, &l.Spike.Hold, parseDuration)},
					{"duration", typed(d, &l.Spike.Duration, parseDuration)},
				})
			}},
			{"external", func(n *yaml.Node, path string) error {
				l.External = &ExternalLoad{}
				return d.mapping(n, path, []field{
					{"vus", typed(d, &l.External.VUs, parseInt)},
					{"max_vus", typed(d, &l.External.MaxVUs, parseInt)},
					{"duration", typed(d, &l.External.Duration, parseDuration)},
				})
			}},
			{"graceful_stop", typed(d, &l.GracefulStop, parseDuration)},
			{"iterations", typed(d, &l.Iterations, parseInt)},
			{"max_duration", typed(d, &l.MaxDuration, parseDuration)},
			{"rate", typed(d, &l.Rate, parseNumber)},
			{"rate_stages", d.rateStages(&l.RateStages)},
			{"max_vus", typed(d, &l.MaxVUs, parseInt)},
			{"pre_allocated_vus", typed(d, &l.PreAllocatedVUs, parseInt)},
		})
	}
}

// rateStages decodes a list of {duration, target} mappings or
// "DURATION:RATE" strings. A given but empty list stays non-nil.
func (d *decoder) rateStages(dst *[]RateStage) func(*yaml.Node, string) error {
	return stageList(d, dst, parseRateStage, func(st *RateStage) []field {
		return []field{
			{"duration", typed(d, &st.Duration, parseDuration)},
			{"target", typed(d, &st.Target, parseNumber)},
		}
	})
}

// stages decodes a list of {duration, target} mappings or "DURATION:TARGET"
// strings. A given but empty list stays non-nil, so that it counts as given.
func (d *decoder) stages(dst *[]Stage) func(*yaml.Node, string) error {
	return stageList(d, dst, parseStage, func(st *Stage) []field {
		return []field{
			{"duration", typed(d, &st.Duration, parseDuration)},
			{"target", typed(d, &st.Target, parseInt)},
		}
	})
}

// stageList decodes a list whose entries are either a mapping (decoded with
// the fields fields gives for the entry) or a one-line text form (parsed by
// parseText).
func stageList[S any](d *decoder, dst *[]S, parseText func(string) (S, error), fields func(*S) []field) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		out := []S{}
		_, err := d.sequence(n, path, func(e *yaml.Node, p string) error {
			e, err := d.resolve(e)
			if err != nil {
				return err
			}
			var st S
			if e.Kind == yaml.ScalarNode && !isNull(e) {
				if st, err = parseText(e.Value); err != nil {
					return d.fail(e, p, "%s", err.Error())
				}
			} else if err := d.mapping(e, p, fields(&st)); err != nil {
				return err
			}
			out = append(out, st)
			return nil
		})
		*dst = out
		return err
	}
}

func (d *decoder) think(dst **Think) func(*yaml.Node, string) error {
	return func(n *yaml.Node, path string) error {
		e, err := d.resolve(n)
		if err != nil {
			return err
		}
		if e.Kind == yaml.MappingNode {
			var lo, hi *time.Duration
			if err := d.mapping(e, path, []field{
				{"min", typed(d, &lo, parseDuration)},
				{"max", typed(d, &hi, parseDuration)},
			}); err != nil {
				return err
			}
			t := Think{}
			if lo != nil {
				t.Min, t.Max = *lo, *lo
			}
			if hi != nil {
				t.Max = *hi
			}
			*dst = &t
			return nil
		}
		return typed(d, dst, parseThink)(n, path)
	}
}
