#!/usr/bin/python3
"""Convert the RFC 7208 test suite (rfc7208-tests.yml, from pyspf) into the
tab-separated form the Catch2 test reads (rfc7208-tests.tsv), applying the suite's
own zone conventions (as its driver testspf.py documents them):
  - a name with SPF records but no TXT records gets the SPF records as TXT too;
  - a record value 'NONE' means no record; TIMEOUT means every query for the name
    times out (temperror), and a type whose value is TIMEOUT times out;
  - a name that is not in the zone is NXDOMAIN, except names under "error." time out.
Lines (fields separated by TAB, escaped as \\\\ \\t \\n \\xHH):
  S <scenario description>
  Z <name> <TYPE> <value> [<value>...]   (TXT: one field per string; MX: pref, host)
  Z <name> TIMEOUT
  T <test name> <client ip> <mailfrom> <helo> <results, comma separated> <explanation or ->
Usage: yaml2tsv.py rfc7208-tests.yml > rfc7208-tests.tsv   (or --check to compare)."""
import sys
import yaml


def esc(s):
    out = []
    for ch in str(s):
        if ch == '\\':
            out.append('\\\\')
        elif ch == '\t':
            out.append('\\t')
        elif ch == '\n':
            out.append('\\n')
        elif ord(ch) < 32 or ord(ch) == 127:
            out.append('\\x%02x' % ord(ch))
        else:
            out.append(ch)
    return ''.join(out)


def convert(path):
    lines = []
    for doc in yaml.safe_load_all(open(path, encoding='utf-8')):
        lines.append('S\t' + esc(doc['description']))
        for name, recs in doc.get('zonedata', {}).items():
            has_txt = any(isinstance(r, dict) and 'TXT' in r for r in recs)
            rows = []
            for r in recs:
                if r == 'TIMEOUT':
                    rows.append(['TIMEOUT'])
                    continue
                for t, v in r.items():
                    if t == 'SPF':
                        if has_txt:
                            continue
                        t = 'TXT'
                    if v == 'TIMEOUT':
                        rows.append([t, 'TIMEOUT'])
                        continue
                    if t == 'TXT':
                        vals = [v] if isinstance(v, str) else list(v)
                        if vals == ['NONE']:
                            continue
                        rows.append([t] + vals)
                    elif t == 'MX':
                        rows.append([t, str(v[0]), v[1]])
                    else:
                        rows.append([t, v])
            if not rows:
                rows.append(['NONE'])  # the name exists with no records
            for row in rows:
                lines.append('\t'.join(['Z', esc(name)] + [esc(x) for x in row]))
        for tname, t in doc['tests'].items():
            res = t['result']
            res = ','.join(res) if isinstance(res, list) else res
            lines.append('\t'.join(['T', esc(tname), esc(t['host']), esc(t['mailfrom']), esc(t['helo']),
                                    res, esc(t.get('explanation', '-'))]))
    return '\n'.join(lines) + '\n'


if __name__ == '__main__':
    if sys.argv[1] == '--check':
        want = convert(sys.argv[2])
        have = open(sys.argv[3], encoding='utf-8').read()
        sys.exit(0 if want == have else 'rfc7208-tests.tsv is out of date: run yaml2tsv.py')
    sys.stdout.write(convert(sys.argv[1]))
