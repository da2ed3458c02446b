// Moved from Zoom Media to V3 (sample for the scan tests: no findings).
// It used to POST https://api.zoommedia.ai/api/v1/speech-to-text/session/ and upload the file part "upload".
import * as tus from "tus-js-client";

const BASE = "https://api.scriptix.io/api/v3";

export async function transcribe(file, token) {
  const created = await fetch(`${BASE}/speech-to-text/session`, {
    method: "POST",
    headers: { "x-zoom-s2t-key": token, "Content-Type": "application/json" },
    body: JSON.stringify({ language: "nl-nl" }),
  });
  const { result } = await created.json();
  await new Promise((resolve, reject) => {
    new tus.Upload(file, {
      endpoint: `${BASE}/files/`,
      headers: { "x-zoom-s2t-key": token },
      metadata: { session_id: result.session_id, language: "nl-nl", filename: file.name, document_type: "caption" },
      onError: reject,
      onSuccess: resolve,
    }).start();
  });
  const status = await fetch(`${BASE}/speech-to-text/session/${result.session_id}`, {
    headers: { "x-zoom-s2t-key": token, Accept: "application/json" },
  });
  return status.json();
}
