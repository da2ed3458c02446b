"""A legacy program used by the staging tests: V1 calls through LegacyClient, run as a process.

Usage: python legacy_script.py BASE_URL TOKEN MEDIA_FILE [extra]
"""

import sys

from compat import LegacyClient


def transcribe(client: LegacyClient, media: str) -> str:
    session_id = client.create_session("en")["result"]["session_id"]
    client.upload(session_id, media)
    return session_id


def extra_call(client: LegacyClient) -> None:
    client.create_session("nl")


def main() -> None:
    base_url, token, media = sys.argv[1:4]
    client = LegacyClient(api_key=token, base_url=base_url, store=":memory:")
    for _ in range(2):
        transcribe(client, media)
    if len(sys.argv) > 4:
        extra_call(client)


if __name__ == "__main__":
    main()
