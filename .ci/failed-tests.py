#!/usr/bin/env python3
"""Prints each failed test: its name and the first lines of its message.

Arguments: the test run's console log, then the TRX reports. The reports give the messages; the console log's
"failed NAME (TIME)" lines give the names of failures whose report another module's report overwrote (modules that
start in the same instant can get the same report file name). CI prints this just before its closing line so that
the tail of a CI log names what failed, even when the run's own output is long (native client logs) and only the
end of it is kept.
"""
import os
import re
import sys
import xml.etree.ElementTree as ElementTree

MESSAGE_LINES = 4
INNER_LINES = 4
MAX_FAILURES = 20


def local(tag):
    return tag.rsplit('}', 1)[-1]


def failures(path):
    try:
        root = ElementTree.parse(path).getroot()
    except (ElementTree.ParseError, OSError) as error:
        yield (f'(unreadable report {path}: {error})', '')
        return
    for element in root.iter():
        if local(element.tag) != 'UnitTestResult' or element.get('outcome') != 'Failed':
            continue
        message = ''
        for child in element.iter():
            if local(child.tag) == 'Message' and child.text:
                message = child.text
                break
        yield (element.get('testName', '(unnamed test)'), message)


CONSOLE_FAILURE = re.compile(r'^failed (.+) \([0-9][^()]*\)\s*$')


def console_failures(path):
    try:
        with open(path, encoding='utf-8', errors='replace') as log:
            for line in log:
                match = CONSOLE_FAILURE.match(line)
                if match:
                    yield (match.group(1), '(message in the console log above)')
    except OSError:
        return


def main(console, reports):
    seen = set()
    found = []
    for path in [report for report in reports if os.path.exists(report)] + [console]:
        for name, message in (console_failures(path) if path == console else failures(path)):
            if name not in seen:
                seen.add(name)
                found.append((name, message))
    if not found:
        return
    print(f'failed tests ({len(found)}):')
    for name, message in found[:MAX_FAILURES]:
        print(f'  {name}')
        lines = message.strip().splitlines()
        for line in lines[:MESSAGE_LINES]:
            print(f'      {line[:300]}')
        # xunit renders an inner exception as a "---- Type : message" line after the outer message (which may be long)
        inner = [line for line in lines[MESSAGE_LINES:] if line.startswith('----')]
        for line in inner[:INNER_LINES]:
            print(f'      {line[:300]}')
    if len(found) > MAX_FAILURES:
        print(f'  ... and {len(found) - MAX_FAILURES} more')


if __name__ == '__main__':
    main(sys.argv[1], sys.argv[2:])
