// V3: create a session, then a TUS upload bound to it (sample for the scan tests: no findings).
import * as tus from "tus-js-client";

const BASE = "https://api.scriptix.io";
const HEADERS: Record<string, string> = { "x-zoom-s2t-key": process.env.SCRIPTIX_TOKEN ?? "" };

export async function transcribe(file: File): Promise<string> {
  const created = await fetch(`${BASE}/api/v3/speech-to-text/session`, {
    method: "POST",
    headers: { ...HEADERS, "Content-Type": "application/json" },
    body: JSON.stringify({ language: "en" }),
  });
  const { result } = await created.json();
  await new Promise<void>((resolve, reject) => {
    const upload = new tus.Upload(file, {
      endpoint: `${BASE}/api/v3/files/`,
      chunkSize: 50 * 1024 * 1024,
      headers: HEADERS,
      metadata: {
        session_id: result.session_id,
        language: "en",
        filename: file.name,
        filetype: file.type,
        document_type: "caption",
      },
      onError: reject,
      onSuccess: () => resolve(),
    });
    upload.start();
  });
  return result.session_id;
}

export async function getResult(sessionId: string): Promise<unknown> {
  const res = await fetch(`${BASE}/api/v3/speech-to-text/session/${sessionId}/result`, { headers: HEADERS });
  return res.json();
}

export async function remove(sessionId: string): Promise<void> {
  await fetch(`${BASE}/api/v3/speech-to-text/session/${sessionId}`, { method: "DELETE", headers: HEADERS });
}
