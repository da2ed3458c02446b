#!/usr/bin/env bash
# Legacy V1 flow with curl (sample for the scan tests).
set -euo pipefail
API="https://api.scriptix.io/api/v3/speech-to-text/session"
TOKEN="${SCRIPTIX_TOKEN:?}"

# 1. create a session
SESSION_ID=$(curl -s -X POST "$API" \
  -H "x-zoom-s2t-key: $TOKEN" -H "Content-Type: application/json" \
  -d '{"language": "en"}' | jq -r .result.session_id)

# 2. upload the media (PUT /api/v3/speech-to-text/session/{id})
curl -s -X PUT "$API/$SESSION_ID" \
  -H "x-zoom-s2t-key: $TOKEN" \
  -H "x-filename: a.wav" \
  -H "Content-Type: audio/wav" \
  --data-binary @a.wav

# the same with -T (curl PUTs by default)
curl -s -T b.mp3 -H "x-zoom-s2t-key: $TOKEN" -H "x-filename: b.mp3" "$API/$SESSION_ID"

# 3. align
curl -s -X POST "$API/$SESSION_ID/align" -H "x-zoom-s2t-key: $TOKEN" \
  -F "media_file=@a.wav" -F "transcript_file=@a.txt;type=text/plain"

# create from a URL
curl -s -X POST "$API" -H "x-zoom-s2t-key: $TOKEN" -H "Content-Type: application/json" \
  -d '{"language": "en", "media_source": "https://example.com/a.mp3"}'

# results and delete are unchanged in V3
curl -s "$API/$SESSION_ID/result" -H "x-zoom-s2t-key: $TOKEN"
curl -s -X DELETE "$API/$SESSION_ID" -H "x-zoom-s2t-key: $TOKEN"
