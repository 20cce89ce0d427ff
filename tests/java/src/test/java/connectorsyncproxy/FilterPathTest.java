package connectorsyncproxy;

import static connectorsyncproxy.Support.elasticsearchError;
import static connectorsyncproxy.Support.unique;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import co.elastic.clients.elasticsearch.ElasticsearchClient;
import co.elastic.clients.elasticsearch._types.ElasticsearchException;
import co.elastic.clients.elasticsearch._types.Result;
import co.elastic.clients.elasticsearch.connector.Connector;
import co.elastic.clients.elasticsearch.connector.ConnectorStatus;
import co.elastic.clients.elasticsearch.connector.ElasticsearchConnectorClient;
import co.elastic.clients.elasticsearch.connector.ListResponse;
import co.elastic.clients.elasticsearch.connector.PutResponse;
import co.elastic.clients.elasticsearch.connector.SyncJobGetResponse;
import co.elastic.clients.elasticsearch.connector.SyncStatus;
import co.elastic.clients.json.JsonpDeserializer;
import co.elastic.clients.transport.TransportOptions;
import co.elastic.clients.transport.endpoints.EndpointBase;
import co.elastic.clients.transport.endpoints.SimpleEndpoint;
import co.elastic.clients.util.ApiTypeHelper;
import jakarta.json.Json;
import jakarta.json.JsonObject;
import jakarta.json.JsonReader;
import jakarta.json.JsonValue;
import java.io.IOException;
import java.io.StringReader;
import java.util.Collection;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * {@code filter_path}, a common parameter of every API that the Java client sends as a
 * transport option, on the service's own answers, as Elasticsearch applies it: dotted paths,
 * {@code *} wildcards, exclusions with a leading {@code -}, several paths comma-separated; an
 * answer filtered to nothing is {@code {}}; error answers are not filtered.
 *
 * <p>Why some reads here keep more than the case names, and some are raw: the client's types
 * cannot be built from a filtered answer that omits a map or list they declare required (a
 * connector's configuration, custom_scheduling and filtering, a sync job's metadata and its
 * connector's configuration, a list's results). Even with the client's required-property check
 * off, its decoder fails on such an answer with a NullPointerException, against Elasticsearch as
 * against the service, and Elasticsearch's answer wins. So the typed reads add those paths to the
 * filter (for a connector, {@link #CONNECTOR_MAPS}) and check what the type exposes; the cases
 * a type cannot hold (an answer filtered to nothing, a list's {@code results.id}, an exclusion
 * of a required map) read the same call's answer as JSON through the client's own transport,
 * with the same {@code filter_path} option, and compare it with the JSON Elasticsearch answers.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FilterPathTest {
    /** The paths a typed read of a connector must keep for the client to build a Connector. */
    private static final String CONNECTOR_MAPS = "configuration,custom_scheduling,filtering";

    /** A GET of any path, answered as the JSON the transport read. */
    private record RawGet(String path, Map<String, String> query) {}

    private static final SimpleEndpoint<RawGet, JsonValue> RAW_GET = new SimpleEndpoint<RawGet, JsonValue>(
            "connector_sync_proxy.raw_get",
            request -> "GET",
            RawGet::path,
            EndpointBase.emptyMap(),
            RawGet::query,
            EndpointBase.emptyMap(),
            false,
            JsonpDeserializer.jsonValueDeserializer());

    private ElasticsearchClient es;
    private final String connectorId = unique("filter");
    private final String indexName = unique("search");
    private String jobId;

    @BeforeAll
    void create() throws IOException {
        es = Support.client(false);
        es.connector().put(p -> p.connectorId(connectorId).indexName(indexName).name("filtered").serviceType("mongodb"));
        jobId = es.connector().syncJobPost(s -> s.id(connectorId)).id();
    }

    @AfterAll
    void delete() throws IOException {
        es.connector().delete(d -> d.connectorId(connectorId).hard(true).deleteSyncJobs(true));
        es.close();
    }

    private ElasticsearchConnectorClient filtered(String paths) {
        return es.connector().withTransportOptions(o -> o.setParameter("filter_path", paths));
    }

    /** The answer to GET path?query as JSON, filtered by paths when they are not null. */
    private JsonObject raw(String path, Map<String, String> query, String paths) throws IOException {
        TransportOptions options = paths == null
                ? es._transport().options()
                : es._transport().options().with(o -> o.setParameter("filter_path", paths));
        return es._transport().performRequest(new RawGet(path, query), RAW_GET, options).asJsonObject();
    }

    private static JsonObject json(String text) {
        try (JsonReader reader = Json.createReader(new StringReader(text))) {
            return reader.readObject();
        }
    }

    private static boolean absent(Collection<?> values) {
        return values == null || values.isEmpty();
    }

    @Test
    void keepsOnlyTheListedKeys() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            Connector got = filtered("name,status," + CONNECTOR_MAPS).get(g -> g.connectorId(connectorId));
            assertEquals("filtered", got.name());
            assertEquals(ConnectorStatus.Created, got.status());
            assertTrue(got.configuration().isEmpty());
            assertTrue(got.customScheduling().isEmpty());
            assertEquals("DEFAULT", got.filtering().get(0).domain());
            assertNull(got.id());
            assertNull(got.indexName());
            assertNull(got.serviceType());
            assertNull(got.scheduling());
        }
        assertEquals(json("{\"name\":\"filtered\",\"status\":\"created\"}"),
                raw("/_connector/" + connectorId, Map.of(), "name,status"));
    }

    @Test
    void filtersTheAnswersOfWrites() throws IOException {
        String putId = unique("filter-put");
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            PutResponse created = filtered("result").put(p -> p.connectorId(putId));
            assertEquals(Result.Created, created.result());
            assertNull(created.id());
        } finally {
            es.connector().delete(d -> d.connectorId(putId).hard(true));
        }
    }

    @Test
    void followsDottedPathsIntoListsAndObjects() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            ListResponse listed = filtered("results.id,results.configuration,results.custom_scheduling,results.filtering")
                    .list(l -> l.indexName(indexName));
            assertEquals(0, listed.count(), "count is filtered out: the client's default");
            assertEquals(1, listed.results().size());
            assertEquals(connectorId, listed.results().get(0).id());
            assertNull(listed.results().get(0).name());
            assertNull(listed.results().get(0).indexName());

            Connector rules = filtered("filtering.active.rules.id,configuration,custom_scheduling")
                    .get(g -> g.connectorId(connectorId));
            assertEquals(1, rules.filtering().size());
            assertEquals("DEFAULT", rules.filtering().get(0).active().rules().get(0).id());
            assertNull(rules.filtering().get(0).active().rules().get(0).value());
            assertNull(rules.filtering().get(0).active().validation());
            assertNull(rules.filtering().get(0).domain());
            assertNull(rules.filtering().get(0).draft());
            assertNull(rules.name());
        }
        assertEquals(json("{\"results\":[{\"id\":\"" + connectorId + "\"}]}"),
                raw("/_connector", Map.of("index_name", indexName), "results.id"));
        assertEquals(json("{\"filtering\":[{\"active\":{\"rules\":[{\"id\":\"DEFAULT\"}]}}]}"),
                raw("/_connector/" + connectorId, Map.of(), "filtering.active.rules.id"));
    }

    @Test
    void matchesWildcardsAndLeavesOutExclusions() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            Connector enabled = filtered("scheduling.*.enabled," + CONNECTOR_MAPS).get(g -> g.connectorId(connectorId));
            assertFalse(enabled.scheduling().full().enabled());
            assertNull(enabled.scheduling().full().interval());
            assertNull(enabled.scheduling().accessControl().interval());
            assertNull(enabled.scheduling().incremental().interval());
            assertNull(enabled.name());

            Connector rest = filtered("-scheduling,-service_type").get(g -> g.connectorId(connectorId));
            assertEquals("filtered", rest.name());
            assertEquals(indexName, rest.indexName());
            assertFalse(absent(rest.filtering()));
            assertNull(rest.serviceType());
            assertNull(rest.scheduling());
        }
        assertEquals(json("{\"scheduling\":{\"access_control\":{\"enabled\":false},\"full\":{\"enabled\":false},"
                        + "\"incremental\":{\"enabled\":false}}}"),
                raw("/_connector/" + connectorId, Map.of(), "scheduling.*.enabled"));
        JsonObject whole = raw("/_connector/" + connectorId, Map.of(), null);
        Map<String, JsonValue> expected = new HashMap<>(whole);
        for (String key : new String[] {"filtering", "configuration", "scheduling"}) {
            assertNotNull(expected.remove(key), key);
        }
        assertEquals(expected, raw("/_connector/" + connectorId, Map.of(), "-filtering,-configuration,-scheduling"));
    }

    @Test
    void answersAnEmptyObjectWhenNothingMatches() throws IOException {
        assertEquals(json("{}"), raw("/_connector/" + connectorId, Map.of(), "no_such_key"));
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            assertNull(filtered("no_such_key").checkIn(c -> c.connectorId(connectorId)).result());
        }
    }

    @Test
    void filtersSyncJobAnswers() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            SyncJobGetResponse job = filtered("connector.id,connector.configuration,metadata,status")
                    .syncJobGet(g -> g.connectorSyncJobId(jobId));
            assertEquals(SyncStatus.Pending, job.status());
            assertEquals(connectorId, job.connector().id());
            assertTrue(job.connector().configuration().isEmpty());
            assertNull(job.connector().indexName());
            assertNull(job.connector().filtering());
            assertNull(job.id());
            assertNull(job.jobType());
            assertNull(job.createdAt());
        }
        assertEquals(json("{\"connector\":{\"id\":\"" + connectorId + "\"},\"status\":\"pending\"}"),
                raw("/_connector/_sync_job/" + jobId, Map.of(), "connector.id,status"));
    }

    @Test
    void doesNotFilterErrorAnswers() {
        ElasticsearchException missing = elasticsearchError(() -> filtered("name").get(g -> g.connectorId(unique("missing"))));
        assertEquals(404, missing.status());
        assertEquals("resource_not_found_exception", missing.error().type());
    }
}
