// V3 with Uppy's TUS plugin (sample for the scan tests: no findings).
import Uppy from "@uppy/core";
import Tus from "@uppy/tus";

export function makeUploader(token, sessionId) {
  return new Uppy({ meta: { session_id: sessionId, language: "en", document_type: "caption" } })
    .use(Tus, {
      endpoint: "https://api.scriptix.io/api/v3/files/",
      headers: { "x-zoom-s2t-key": token },
      chunkSize: 50 * 1024 * 1024,
    });
}
