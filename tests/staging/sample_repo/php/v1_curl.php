<?php
// Legacy V1 upload with ext-curl (sample for the scan tests).
const SCRIPTIX_SESSIONS = 'https://api.scriptix.io/api/v3/speech-to-text/session';

function upload_media(string $sessionId, string $path, string $token): array
{
    $ch = curl_init(SCRIPTIX_SESSIONS . '/' . rawurlencode($sessionId));
    curl_setopt($ch, CURLOPT_CUSTOMREQUEST, 'PUT');
    curl_setopt($ch, CURLOPT_HTTPHEADER, [
        'x-zoom-s2t-key: ' . $token,
        'x-filename: ' . basename($path),
        'Content-Type: audio/mpeg',
    ]);
    curl_setopt($ch, CURLOPT_POSTFIELDS, file_get_contents($path));
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    $body = curl_exec($ch);
    curl_close($ch);
    return json_decode($body, true);
}

function get_result(string $sessionId, string $token): array
{
    $ch = curl_init(SCRIPTIX_SESSIONS . "/{$sessionId}/result");
    curl_setopt($ch, CURLOPT_HTTPHEADER, ['x-zoom-s2t-key: ' . $token]);
    curl_setopt($ch, CURLOPT_RETURNTRANSFER, true);
    return json_decode(curl_exec($ch), true);
}
