// Package scriptix holds a legacy V1 upload (sample for the scan tests).
package scriptix

import (
	"fmt"
	"net/http"
	"os"
)

const baseURL = "https://api.scriptix.io"

// UploadMedia PUTs the media to the V1 session endpoint.
func UploadMedia(client *http.Client, token, sessionID, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	url := fmt.Sprintf("%s/api/v3/speech-to-text/session/%s", baseURL, sessionID)
	req, err := http.NewRequest(http.MethodPut, url, f)
	if err != nil {
		return err
	}
	req.Header.Set("x-zoom-s2t-key", token)
	req.Header.Set("x-filename", "a.wav")
	req.Header.Set("Content-Type", "audio/wav")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}

// Result fetches the transcript (unchanged in V3).
func Result(client *http.Client, token, sessionID string) (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, fmt.Sprintf("%s/api/v3/speech-to-text/session/%s/result", baseURL, sessionID), nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("x-zoom-s2t-key", token)
	return client.Do(req)
}
