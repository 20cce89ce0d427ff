package connectorsyncproxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import co.elastic.clients.elasticsearch._types.ElasticsearchException;
import co.elastic.clients.json.UnexpectedJsonEventException;
import co.elastic.clients.transport.TransportException;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import java.io.IOException;
import java.io.StringReader;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.function.Executable;

/**
 * What every test class shares: clients pointed at the service (CSP_SERVICE_URL), the node
 * behind it (CSP_TEST_ES_URL) read directly over plain HTTP, and unique ids.
 */
final class Support {
    static final String CONNECTORS = ".elastic-connectors";
    static final String JOBS = ".elastic-connectors-sync-jobs";

    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private Support() {}

    static String serviceUrl() {
        String url = System.getenv("CSP_SERVICE_URL");
        if (url == null || url.isEmpty()) {
            throw new IllegalStateException("CSP_SERVICE_URL is not set: run scripts/java-clients.sh");
        }
        return url;
    }

    static String nodeUrl() {
        String url = System.getenv().getOrDefault("CSP_TEST_ES_URL", "http://127.0.0.1:9200");
        return url.endsWith("/") ? url.substring(0, url.length() - 1) : url;
    }

    /** The official client with its defaults, or with compressed request bodies. */
    static ElasticsearchClient client(boolean compression) {
        return ElasticsearchClient.of(b -> b.host(serviceUrl()).useCompression(compression));
    }

    static String unique(String label) {
        return "java-" + label + "-" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    }

    /** The document's source as the node holds it, or null when there is none. */
    static JsonObject stored(String index, String id) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(
                        URI.create(nodeUrl() + "/" + index + "/_doc/" + URLEncoder.encode(id, StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30))
                .GET()
                .build();
        HttpResponse<String> response = HTTP.send(request, HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() == 404) {
            return null;
        }
        if (response.statusCode() != 200) {
            throw new IOException("GET " + index + "/" + id + " answered " + response.statusCode());
        }
        try (JsonReader reader = Json.createReader(new StringReader(response.body()))) {
            return reader.readObject().getJsonObject("_source");
        }
    }

    /** Runs a call that must fail with the client's own error type, and returns the error. */
    static ElasticsearchException elasticsearchError(Executable call) {
        return assertThrows(ElasticsearchException.class, call);
    }

    /**
     * Calls a sync-job method whose answer this client version declares as an empty object
     * (claim, check_in, error, update_stats). Elasticsearch answers {"result":"updated"}, and
     * Elasticsearch's answer wins: the service answers the same. The client's decoder expects
     * the object to end where Elasticsearch writes the key, so the call, which succeeded, ends
     * in a TransportException on a 200 answer. That, and only that, is accepted here; the tests
     * check what the call did through the job.
     */
    static void callWithUndeclaredAnswer(Executable call) throws Throwable {
        try {
            call.execute();
        } catch (TransportException error) {
            assertEquals(200, error.statusCode(), error.getMessage());
            assertInstanceOf(UnexpectedJsonEventException.class, error.getCause(), error.getMessage());
        }
    }
}
