using System.IO;
using System.Net.Http;
using System.Net.Http.Headers;
using System.Threading.Tasks;

namespace Example.Scriptix;

/// <summary>Legacy V1 upload with HttpClient (sample for the scan tests).</summary>
public class V1Client
{
    private const string BaseUrl = "https://api.scriptix.io";
    private readonly HttpClient _http = new HttpClient();

    public async Task<string> UploadAsync(string token, string sessionId, string path)
    {
        using var content = new StreamContent(File.OpenRead(path));
        content.Headers.ContentType = new MediaTypeHeaderValue("audio/wav");
        content.Headers.Add("x-filename", Path.GetFileName(path));
        _http.DefaultRequestHeaders.Add("x-zoom-s2t-key", token);
        var response = await _http.PutAsync($"{BaseUrl}/api/v3/speech-to-text/session/{sessionId}", content);
        return await response.Content.ReadAsStringAsync();
    }

    public async Task DeleteAsync(string sessionId)
    {
        await _http.DeleteAsync($"{BaseUrl}/api/v3/speech-to-text/session/{sessionId}");
    }
}
