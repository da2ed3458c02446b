#!/bin/sh
# V3 with curl: create the session, then a TUS upload bound to it (sample for the scan tests: no findings).
API=https://api.scriptix.io
SESSION_ID=$(curl -s -X POST "$API/api/v3/speech-to-text/session" -H "x-zoom-s2t-key: $TOKEN" \
  -H "Content-Type: application/json" -d '{"language": "en"}' | jq -r .result.session_id)
SIZE=$(wc -c < talk.wav)
META="filename $(printf talk.wav | base64),filetype $(printf audio/wav | base64),session_id $(printf "$SESSION_ID" | base64)"
LOCATION=$(curl -si -X POST "$API/api/v3/files/" -H "x-zoom-s2t-key: $TOKEN" -H "Tus-Resumable: 1.0.0" \
  -H "Upload-Length: $SIZE" -H "Upload-Metadata: $META" | tr -d '\r' | sed -n 's/^[Ll]ocation: //p')
curl -s -X PATCH "$LOCATION" -H "x-zoom-s2t-key: $TOKEN" -H "Tus-Resumable: 1.0.0" \
  -H "Upload-Offset: 0" -H "Content-Type: application/offset+octet-stream" --data-binary @talk.wav
curl -s "$API/api/v3/speech-to-text/session/$SESSION_ID/result" -H "x-zoom-s2t-key: $TOKEN"
curl -s -X DELETE "$API/api/v3/speech-to-text/session/$SESSION_ID" -H "x-zoom-s2t-key: $TOKEN"
