"""Deterministic transcripts: the same media always gives the same words at the same times.

Words come from a script (the ``transcripts`` option, or the text of an alignment upload) or
from a fixed lorem-style vocabulary drawn with a generator seeded by the media's SHA-256. They
are spread evenly over the media's duration, as ``[word, start, end, confidence]`` with times in
seconds (floats), grouped in segments of at most :data:`WORDS_PER_SEGMENT` words.
"""

from __future__ import annotations

import random
from typing import Any

__all__ = ["MAX_WORDS", "VOCABULARY", "WORDS_PER_SECOND", "WORDS_PER_SEGMENT", "make_results"]

VOCABULARY = [
    "lorem",
    "ipsum",
    "dolor",
    "sit",
    "amet",
    "consectetur",
    "adipiscing",
    "elit",
    "sed",
    "do",
    "eiusmod",
    "tempor",
    "incididunt",
    "ut",
    "labore",
    "et",
    "dolore",
    "magna",
    "aliqua",
    "enim",
    "ad",
    "minim",
    "veniam",
    "quis",
    "nostrud",
    "exercitation",
    "ullamco",
    "laboris",
    "nisi",
    "aliquip",
    "ex",
    "ea",
    "commodo",
    "consequat",
    "duis",
    "aute",
    "irure",
    "in",
    "reprehenderit",
    "voluptate",
    "velit",
    "esse",
    "cillum",
    "eu",
    "fugiat",
    "nulla",
    "pariatur",
    "excepteur",
    "sint",
    "occaecat",
    "cupidatat",
    "non",
    "proident",
    "sunt",
    "culpa",
    "qui",
    "officia",
    "deserunt",
    "mollit",
    "anim",
    "id",
    "est",
    "laborum",
]
WORDS_PER_SECOND = 2.5
WORDS_PER_SEGMENT = 12
MAX_WORDS = 2000


def _words(duration: float, seed: str, script: str | None) -> list[str]:
    if script is not None and script.split():
        return script.split()[:MAX_WORDS]
    rng = random.Random(seed)
    count = max(1, min(MAX_WORDS, round(duration * WORDS_PER_SECOND)))
    return [rng.choice(VOCABULARY) for _ in range(count)]


def make_results(
    duration: float,
    seed: str,
    *,
    script: str | None = None,
    punctuation: bool = False,
) -> list[dict[str, Any]]:
    """The ``results`` list of a done session.

    Args:
        duration: seconds of media; every word ends within it.
        seed: the media's content hash; picks the words and confidences.
        script: the words to use instead of generated ones.
        punctuation: capitalise each segment's text and end it with a full stop (the words
            themselves stay as they are).
    """
    rng = random.Random("confidence:" + seed)
    words = _words(duration, seed, script)
    slot = max(0.0, duration) / len(words)
    results: list[dict[str, Any]] = []
    for first in range(0, len(words), WORDS_PER_SEGMENT):
        group = words[first : first + WORDS_PER_SEGMENT]
        tuples: list[list[Any]] = []
        for index, word in enumerate(group, start=first):
            start = round(index * slot, 3)
            end = round(min(duration, index * slot + 0.8 * slot), 3)
            tuples.append([word, float(start), float(max(start, end)), round(rng.uniform(0.75, 0.99), 2)])
        text = " ".join(group)
        if punctuation:
            text = text[:1].upper() + text[1:] + "."
        results.append(
            {
                "result": tuples,
                "speaker": "unk",
                "text": text,
                "sconf": round(rng.uniform(0.8, 0.99), 2),
                "channel": 0,
            }
        )
    return results
