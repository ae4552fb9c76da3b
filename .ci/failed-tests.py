#!/usr/bin/env python3
"""Prints each failed test in the given TRX reports: its name and the first lines of its message.

CI prints this just before its closing line so that the tail of a CI log names what failed, even when the
test run's own output is long (native client logs) and only the end of it is kept.
"""
import sys
import xml.etree.ElementTree as ElementTree

MESSAGE_LINES = 4
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


def main(paths):
    seen = set()
    found = []
    for path in paths:
        for name, message in failures(path):
            if name not in seen:
                seen.add(name)
                found.append((name, message))
    if not found:
        return
    print(f'failed tests ({len(found)}):')
    for name, message in found[:MAX_FAILURES]:
        print(f'  {name}')
        for line in message.strip().splitlines()[:MESSAGE_LINES]:
            print(f'      {line[:300]}')
    if len(found) > MAX_FAILURES:
        print(f'  ... and {len(found) - MAX_FAILURES} more')


if __name__ == '__main__':
    main(sys.argv[1:])
