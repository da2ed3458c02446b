<?php
// Legacy V1 calls with Guzzle (sample for the scan tests).
use GuzzleHttp\Client;

final class ScriptixV1
{
    private Client $http;

    public function __construct(private string $token)
    {
        $this->http = new Client(['base_uri' => 'https://api.scriptix.io']);
    }

    public function createFromUrl(string $mediaUrl): string
    {
        $response = $this->http->post('/api/v3/speech-to-text/session', [
            'headers' => ['x-zoom-s2t-key' => $this->token],
            'json' => ['language' => 'en', 'media_source' => $mediaUrl],
        ]);
        return json_decode((string) $response->getBody(), true)['result']['session_id'];
    }

    public function align(string $sessionId, string $media, string $transcript): void
    {
        $this->http->post("/api/v3/speech-to-text/session/{$sessionId}/align", [
            'headers' => ['x-zoom-s2t-key' => $this->token],
            'multipart' => [
                ['name' => 'media_file', 'contents' => fopen($media, 'r')],
                ['name' => 'transcript_file', 'contents' => fopen($transcript, 'r')],
            ],
        ]);
    }

    public function delete(string $sessionId): void
    {
        $this->http->delete("/api/v3/speech-to-text/session/{$sessionId}", [
            'headers' => ['x-zoom-s2t-key' => $this->token],
        ]);
    }
}
