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
import co.elastic.clients.util.ApiTypeHelper;
import java.io.IOException;
import java.util.Collection;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * {@code filter_path}, a common parameter of every API that the Java client sends as a
 * transport option, on the service's own answers, as Elasticsearch applies it: dotted paths,
 * {@code *} wildcards, exclusions with a leading {@code -}, several paths comma-separated; an
 * answer filtered to nothing is {@code {}}; error answers are not filtered.
 *
 * <p>A filtered answer lacks properties the client's types declare required, so the typed reads
 * here run with the client's required-property check off (its documented switch for
 * filter_path): Elasticsearch's filtered answer wins over the declared type. Run only with
 * CSP_CLIENTS_WIRE_OPTIONS=1 until the service applies filter_path.
 */
@EnabledIfEnvironmentVariable(named = "CSP_CLIENTS_WIRE_OPTIONS", matches = "1")
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
class FilterPathTest {
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

    private static boolean absent(Collection<?> values) {
        return values == null || values.isEmpty();
    }

    private static boolean absent(Map<?, ?> values) {
        return values == null || values.isEmpty();
    }

    @Test
    void keepsOnlyTheListedKeys() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            Connector got = filtered("name,status").get(g -> g.connectorId(connectorId));
            assertEquals("filtered", got.name());
            assertEquals(ConnectorStatus.Created, got.status());
            assertNull(got.id());
            assertNull(got.indexName());
            assertNull(got.serviceType());
            assertTrue(absent(got.filtering()));
            assertTrue(absent(got.configuration()));
        }
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
            ListResponse listed = filtered("results.id").list(l -> l.indexName(indexName));
            assertEquals(0, listed.count(), "count is filtered out");
            assertEquals(1, listed.results().size());
            assertEquals(connectorId, listed.results().get(0).id());
            assertNull(listed.results().get(0).name());
            Connector rules = filtered("filtering.active.rules.id").get(g -> g.connectorId(connectorId));
            assertEquals("DEFAULT", rules.filtering().get(0).active().rules().get(0).id());
            assertNull(rules.filtering().get(0).active().rules().get(0).value());
            assertNull(rules.filtering().get(0).draft());
            assertNull(rules.name());
        }
    }

    @Test
    void matchesWildcardsAndLeavesOutExclusions() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            Connector enabled = filtered("scheduling.*.enabled").get(g -> g.connectorId(connectorId));
            assertFalse(enabled.scheduling().full().enabled());
            assertNull(enabled.scheduling().full().interval());
            assertNotNull(enabled.scheduling().accessControl());
            assertNotNull(enabled.scheduling().incremental());
            assertNull(enabled.name());

            Connector rest = filtered("-filtering,-configuration,-scheduling").get(g -> g.connectorId(connectorId));
            assertEquals("filtered", rest.name());
            assertEquals(indexName, rest.indexName());
            assertTrue(absent(rest.filtering()));
            assertTrue(absent(rest.configuration()));
            assertNull(rest.scheduling());
        }
    }

    @Test
    void answersAnEmptyObjectWhenNothingMatches() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            Connector nothing = filtered("no_such_key").get(g -> g.connectorId(connectorId));
            assertNull(nothing.id());
            assertNull(nothing.name());
            assertNull(nothing.status());
            assertTrue(absent(nothing.filtering()));
            assertNull(filtered("no_such_key").checkIn(c -> c.connectorId(connectorId)).result());
        }
    }

    @Test
    void filtersSyncJobAnswers() throws IOException {
        try (ApiTypeHelper.DisabledChecksHandle unchecked = ApiTypeHelper.DANGEROUS_disableRequiredPropertiesCheck(true)) {
            SyncJobGetResponse job = filtered("connector.id,status").syncJobGet(g -> g.connectorSyncJobId(jobId));
            assertEquals(SyncStatus.Pending, job.status());
            assertEquals(connectorId, job.connector().id());
            assertNull(job.connector().indexName());
            assertNull(job.id());
            assertNull(job.jobType());
        }
    }

    @Test
    void doesNotFilterErrorAnswers() {
        ElasticsearchException missing = elasticsearchError(() -> filtered("name").get(g -> g.connectorId(unique("missing"))));
        assertEquals(404, missing.status());
        assertEquals("resource_not_found_exception", missing.error().type());
    }
}
