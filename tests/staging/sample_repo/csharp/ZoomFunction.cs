// An Azure Function that sends a video to Zoom Media by URL (sample for the scan tests).
using System.Net.Http;
using System.Text;
using System.Threading.Tasks;
using Newtonsoft.Json;
using Newtonsoft.Json.Linq;

public static class ZoomTranscribe
{
    private const string ZoomBase = "https://api.zoommedia.ai/api/v1/speech-to-text/session/";
    private static readonly HttpClient Http = new HttpClient();

    public static async Task<string> Start(string videoUrl, string token, string callbackUrl)
    {
        Http.DefaultRequestHeaders.Add("X-Zoom-S2T-Key", token);
        var create = new StringContent(
            JsonConvert.SerializeObject(new { language = "en-us", punctuation = true, callback_url = callbackUrl }),
            Encoding.UTF8, "application/json");
        var created = await Http.PostAsync(ZoomBase, create);
        var sessionId = JObject.Parse(await created.Content.ReadAsStringAsync())["sessionId"].ToString();

        var media = new StringContent(JsonConvert.SerializeObject(new { video_url = videoUrl }), Encoding.UTF8, "application/json");
        await Http.PostAsync(ZoomBase + sessionId, media);
        return sessionId;
    }

    public static async Task<bool> IsDone(string sessionId)
    {
        var status = JObject.Parse(await Http.GetStringAsync(ZoomBase + sessionId));
        return status["done"].ToString() == "True";
    }

    public static async Task<string> Captions(string sessionId)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, ZoomBase + sessionId);
        request.Headers.Add("Accept", "text/vtt");
        var response = await Http.SendAsync(request);
        return await response.Content.ReadAsStringAsync();
    }
}
