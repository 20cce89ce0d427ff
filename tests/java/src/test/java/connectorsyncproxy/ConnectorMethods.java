package connectorsyncproxy;

import static connectorsyncproxy.Support.CONNECTORS;
import static connectorsyncproxy.Support.callWithUndeclaredAnswer;
import static connectorsyncproxy.Support.JOBS;
import static connectorsyncproxy.Support.elasticsearchError;
import static connectorsyncproxy.Support.stored;
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
import co.elastic.clients.elasticsearch.connector.ConnectorFieldType;
import co.elastic.clients.elasticsearch.connector.ConnectorStatus;
import co.elastic.clients.elasticsearch.connector.DisplayType;
import co.elastic.clients.elasticsearch.connector.ElasticsearchConnectorClient;
import co.elastic.clients.elasticsearch.connector.FilteringPolicy;
import co.elastic.clients.elasticsearch.connector.FilteringRule;
import co.elastic.clients.elasticsearch.connector.FilteringRuleRule;
import co.elastic.clients.elasticsearch.connector.FilteringRules;
import co.elastic.clients.elasticsearch.connector.FilteringValidationState;
import co.elastic.clients.elasticsearch.connector.GetConnectorResponse;
import co.elastic.clients.elasticsearch.connector.ListResponse;
import co.elastic.clients.elasticsearch.connector.PutResponse;
import co.elastic.clients.elasticsearch.connector.SyncJobGetResponse;
import co.elastic.clients.elasticsearch.connector.SyncJobListResponse;
import co.elastic.clients.elasticsearch.connector.SyncJobTriggerMethod;
import co.elastic.clients.elasticsearch.connector.SyncJobType;
import co.elastic.clients.elasticsearch.connector.SyncStatus;
import co.elastic.clients.json.JsonData;
import co.elastic.clients.util.DateTime;
import jakarta.json.JsonObject;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;

/**
 * Every {@code client.connector()} method of the official Java client, each change read back
 * through the client's typed answers and from the node itself. The subclasses run it with the
 * client's default options and with compressed request bodies.
 */
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
abstract class ConnectorMethods {
    private ElasticsearchClient es;

    abstract boolean compression();

    @BeforeAll
    void openClient() {
        es = Support.client(compression());
    }

    @AfterAll
    void closeClient() throws IOException {
        es.close();
    }

    private ElasticsearchConnectorClient connector() {
        return es.connector();
    }

    @Test
    void putsPostsGetsListsAndDeletesConnectors() throws Exception {
        String connectorId = unique("crud");
        String indexName = unique("search");

        PutResponse created = connector().put(p -> p.connectorId(connectorId).indexName(indexName).name("my-connector")
                .description("made by the java client").language("pl").isNative(false).serviceType("super-connector"));
        assertEquals(connectorId, created.id());
        assertEquals(Result.Created, created.result());
        GetConnectorResponse first = connector().get(g -> g.connectorId(connectorId));
        assertEquals("made by the java client", first.description());
        assertEquals("pl", first.language());
        // PUT on an existing connector writes it anew: what the second PUT leaves out is gone.
        PutResponse again = connector().put(p -> p.connectorId(connectorId).indexName(indexName).name("my-connector")
                .serviceType("super-connector"));
        assertEquals(Result.Updated, again.result());

        PutResponse generated = connector().put(p -> p);
        assertEquals(Result.Created, generated.result());
        assertEquals(20, generated.id().length());
        String postedId = connector().post(p -> p.serviceType("super-connector").name("posted")).id();
        assertEquals("posted", connector().get(g -> g.connectorId(postedId)).name());

        GetConnectorResponse got = connector().get(g -> g.connectorId(connectorId));
        assertEquals(connectorId, got.id());
        assertEquals(indexName, got.indexName());
        assertEquals("my-connector", got.name());
        assertNull(got.description());
        assertEquals("super-connector", got.serviceType());
        assertEquals(ConnectorStatus.Created, got.status());
        assertFalse(got.isNative());
        assertFalse(got.deleted());
        assertFalse(got.syncNow());
        assertEquals("DEFAULT", got.filtering().get(0).domain());
        assertEquals("DEFAULT", got.filtering().get(0).active().rules().get(0).id());
        assertEquals(FilteringValidationState.Valid, got.filtering().get(0).active().validation().state());
        assertFalse(got.scheduling().full().enabled());
        assertEquals("0 0 0 * * ?", got.scheduling().full().interval());

        ListResponse listed = connector().list(l -> l.indexName(indexName));
        assertEquals(1, listed.count());
        assertEquals(connectorId, listed.results().get(0).id());
        assertEquals(1, connector().list(l -> l.connectorName("my-connector").indexName(indexName).from(0).size(10)).count());
        assertEquals(1, connector().list(l -> l.serviceType("super-connector").query(indexName)).count());

        assertTrue(connector().delete(d -> d.connectorId(connectorId)).acknowledged());
        ElasticsearchException missing = elasticsearchError(() -> connector().get(g -> g.connectorId(connectorId)));
        assertEquals(404, missing.status());
        assertEquals("resource_not_found_exception", missing.error().type());
        assertTrue(connector().get(g -> g.connectorId(connectorId).includeDeleted(true)).deleted());
        assertEquals(0, connector().list(l -> l.indexName(indexName)).count());
        assertEquals(1, connector().list(l -> l.indexName(indexName).includeDeleted(true)).count());

        assertTrue(connector().delete(d -> d.connectorId(connectorId).hard(true)).acknowledged());
        assertNull(stored(CONNECTORS, connectorId));
        for (String other : List.of(generated.id(), postedId)) {
            connector().delete(d -> d.connectorId(other).hard(true));
        }
    }

    @Test
    void runsEveryUpdateMethodAndReadsEachChangeBack() throws Exception {
        String connectorId = unique("updates");
        connector().put(p -> p.connectorId(connectorId).indexName("content-" + unique("index")).serviceType("super-connector"));

        assertEquals(Result.Updated, connector().checkIn(c -> c.connectorId(connectorId)).result());
        assertNotNull(read(connectorId).lastSeen());

        assertEquals(Result.Updated, connector().updateApiKeyId(u -> u.connectorId(connectorId).apiKeyId("key-id")
                .apiKeySecretId("secret-id")).result());
        Connector got = read(connectorId);
        assertEquals("key-id", got.apiKeyId());
        assertEquals("secret-id", got.apiKeySecretId());

        assertEquals(Result.Updated, connector().updateConfiguration(u -> u.connectorId(connectorId)
                .configuration("some_field", c -> c.label("Very important field").display(DisplayType.Numeric)
                        .type(ConnectorFieldType.Int).value(JsonData.of(123)).required(true).sensitive(false).order(1)
                        .tooltip("a number").defaultValue(0).dependsOn(List.of()).options(List.of())
                        .validations(List.of()).uiRestrictions(List.of())))
                .result());
        got = read(connectorId);
        assertEquals(123, got.configuration().get("some_field").value().to(Integer.class));
        assertEquals("Very important field", got.configuration().get("some_field").label());
        assertEquals(DisplayType.Numeric, got.configuration().get("some_field").display());
        assertEquals(ConnectorStatus.Configured, got.status());
        connector().updateConfiguration(u -> u.connectorId(connectorId).values("some_field", JsonData.of(42)));
        assertEquals(42, read(connectorId).configuration().get("some_field").value().to(Integer.class));
        ElasticsearchException unknownField = elasticsearchError(() -> connector().updateConfiguration(u -> u
                .connectorId(connectorId).values("nope", JsonData.of(1))));
        assertEquals(400, unknownField.status());
        assertEquals("status_exception", unknownField.error().type());

        assertEquals(Result.Updated, connector().updateError(u -> u.connectorId(connectorId).error("some error")).result());
        got = read(connectorId);
        assertEquals("some error", got.error());
        assertEquals(ConnectorStatus.Error, got.status());
        connector().updateError(u -> u.connectorId(connectorId).errorWithNull());
        got = read(connectorId);
        assertNull(got.error());
        assertEquals(ConnectorStatus.Connected, got.status());

        assertEquals(Result.Updated, connector().updateFeatures(u -> u.connectorId(connectorId)
                .features(f -> f.documentLevelSecurity(e -> e.enabled(true)))).result());
        connector().updateFeatures(u -> u.connectorId(connectorId).features(f -> f.incrementalSync(e -> e.enabled(false))));
        got = read(connectorId);
        assertTrue(got.features().documentLevelSecurity().enabled());
        assertFalse(got.features().incrementalSync().enabled());

        DateTime when = DateTime.of("2024-05-01T10:00:00.000Z");
        FilteringRule rule = FilteringRule.of(r -> r.field("title").id("only-docs").order(1).policy(FilteringPolicy.Include)
                .rule(FilteringRuleRule.Contains).value("doc").createdAt(when).updatedAt(when));
        assertEquals(Result.Updated, connector().updateFiltering(u -> u.connectorId(connectorId).rules(rule)
                .advancedSnippet(a -> a.value(JsonData.of(Map.of("query", "x"))))).result());
        FilteringRules draft = read(connectorId).filtering().get(0).draft();
        assertEquals(List.of("only-docs", "DEFAULT"), draft.rules().stream().map(FilteringRule::id).toList());
        assertEquals(FilteringRuleRule.Contains, draft.rules().get(0).rule());
        assertEquals("x", draft.advancedSnippet().value().toJson().asJsonObject().getString("query"));
        assertEquals(FilteringValidationState.Edited, draft.validation().state());
        ElasticsearchException notValidated = elasticsearchError(() -> connector().updateActiveFiltering(u -> u
                .connectorId(connectorId)));
        assertEquals(400, notValidated.status());
        assertEquals(Result.Updated, connector().updateFilteringValidation(u -> u.connectorId(connectorId)
                .validation(v -> v.state(FilteringValidationState.Valid).errors(List.of()))).result());
        assertEquals(Result.Updated, connector().updateActiveFiltering(u -> u.connectorId(connectorId)).result());
        assertEquals("only-docs", read(connectorId).filtering().get(0).active().rules().get(0).id());

        String newIndex = "content-" + unique("index");
        assertEquals(Result.Updated, connector().updateIndexName(u -> u.connectorId(connectorId).indexName(newIndex)).result());
        assertEquals(newIndex, read(connectorId).indexName());

        assertEquals(Result.Updated, connector().updateName(u -> u.connectorId(connectorId).name("renamed")
                .description("described")).result());
        got = read(connectorId);
        assertEquals("renamed", got.name());
        assertEquals("described", got.description());

        assertEquals(Result.Updated, connector().updateNative(u -> u.connectorId(connectorId).isNative(true)).result());
        got = read(connectorId);
        assertTrue(got.isNative());
        assertEquals(ConnectorStatus.Configured, got.status());

        assertEquals(Result.Updated, connector().updatePipeline(u -> u.connectorId(connectorId).pipeline(p -> p
                .extractBinaryContent(true).name("search-default-ingestion").reduceWhitespace(true).runMlInference(false)))
                .result());
        got = read(connectorId);
        assertEquals("search-default-ingestion", got.pipeline().name());
        assertTrue(got.pipeline().extractBinaryContent());
        assertFalse(got.pipeline().runMlInference());

        assertEquals(Result.Updated, connector().updateScheduling(u -> u.connectorId(connectorId)
                .scheduling(s -> s.full(f -> f.enabled(true).interval("0 0 12 ? * mon")))).result());
        got = read(connectorId);
        assertTrue(got.scheduling().full().enabled());
        assertEquals("0 0 12 ? * MON", got.scheduling().full().interval());

        assertEquals(Result.Updated, connector().updateServiceType(u -> u.connectorId(connectorId).serviceType("mongodb")).result());
        got = read(connectorId);
        assertEquals("mongodb", got.serviceType());
        assertEquals(ConnectorStatus.NeedsConfiguration, got.status());

        assertEquals(Result.Updated, connector().updateStatus(u -> u.connectorId(connectorId).status(ConnectorStatus.Configured)).result());
        assertEquals(ConnectorStatus.Configured, read(connectorId).status());
        ElasticsearchException refused = elasticsearchError(() -> connector().updateStatus(u -> u.connectorId(connectorId)
                .status(ConnectorStatus.Created)));
        assertEquals(400, refused.status());
        assertEquals("status_exception", refused.error().type());
        assertTrue(refused.error().reason().contains("Invalid transition attempt from [configured] to [created]"));

        JsonObject source = stored(CONNECTORS, connectorId);
        assertEquals("renamed", source.getString("name"));
        assertEquals(42, source.getJsonObject("configuration").getJsonObject("some_field").getInt("value"));

        connector().delete(d -> d.connectorId(connectorId).hard(true));
    }

    @Test
    void answersAMissingConnectorWithA404() {
        String missing = unique("missing");
        ElasticsearchException lookup = elasticsearchError(() -> connector().updateStatus(u -> u.connectorId(missing)
                .status(ConnectorStatus.Error)));
        assertEquals(404, lookup.status());
        assertEquals("resource_not_found_exception", lookup.error().type());
        ElasticsearchException direct = elasticsearchError(() -> connector().updateName(u -> u.connectorId(missing).name("x")));
        assertEquals(404, direct.status());
        assertEquals("document_missing_exception", direct.error().type());
        assertEquals(404, elasticsearchError(() -> connector().delete(d -> d.connectorId(missing))).status());
        ElasticsearchException noJob = elasticsearchError(() -> connector().syncJobPost(s -> s.id(missing)));
        assertEquals(404, noJob.status());
        assertEquals("resource_not_found_exception", noJob.error().type());
    }

    @Test
    void postsGetsListsCancelsAndDeletesSyncJobs() throws Exception {
        String connectorId = unique("jobs");
        String indexName = unique("search");
        connector().put(p -> p.connectorId(connectorId).indexName(indexName).serviceType("mongodb"));

        String jobId = connector().syncJobPost(s -> s.id(connectorId).jobType(SyncJobType.Incremental)
                .triggerMethod(SyncJobTriggerMethod.Scheduled)).id();
        SyncJobGetResponse job = connector().syncJobGet(g -> g.connectorSyncJobId(jobId));
        assertEquals(jobId, job.id());
        assertEquals(SyncStatus.Pending, job.status());
        assertEquals(SyncJobType.Incremental, job.jobType());
        assertEquals(SyncJobTriggerMethod.Scheduled, job.triggerMethod());
        assertEquals(connectorId, job.connector().id());
        assertEquals(indexName, job.connector().indexName());
        assertEquals("mongodb", job.connector().serviceType());
        assertEquals(0, job.indexedDocumentCount());
        assertEquals(0, job.totalDocumentCount());
        assertTrue(job.metadata().isEmpty());
        assertNotNull(job.createdAt());
        assertEquals("pending", stored(JOBS, jobId).getString("status"));

        String second = connector().syncJobPost(s -> s.id(connectorId)).id();
        SyncJobListResponse page = connector().syncJobList(l -> l.connectorId(connectorId));
        assertEquals(2, page.count());
        assertEquals(List.of(second, jobId), page.results().stream().map(r -> r.id()).toList());
        SyncJobListResponse incremental = connector().syncJobList(l -> l.connectorId(connectorId)
                .jobType(SyncJobType.Incremental).size(1).from(0));
        assertEquals(List.of(jobId), incremental.results().stream().map(r -> r.id()).toList());
        assertEquals(2, connector().syncJobList(l -> l.connectorId(connectorId).status(SyncStatus.Pending)).count());

        assertEquals(Result.Updated, connector().syncJobCancel(c -> c.connectorSyncJobId(second)).result());
        SyncJobGetResponse canceled = connector().syncJobGet(g -> g.connectorSyncJobId(second));
        assertEquals(SyncStatus.Canceled, canceled.status());
        assertNotNull(canceled.canceledAt());
        assertNotNull(canceled.cancelationRequestedAt());
        ElasticsearchException twice = elasticsearchError(() -> connector().syncJobCancel(c -> c.connectorSyncJobId(second)));
        assertEquals(400, twice.status());
        assertEquals("status_exception", twice.error().type());
        assertTrue(twice.error().reason().contains("Invalid transition attempt from [canceled] to [canceling]"));

        assertTrue(connector().syncJobDelete(d -> d.connectorSyncJobId(jobId)).acknowledged());
        ElasticsearchException missing = elasticsearchError(() -> connector().syncJobGet(g -> g.connectorSyncJobId(jobId)));
        assertEquals(404, missing.status());
        assertEquals("resource_not_found_exception", missing.error().type());
        assertEquals(404, elasticsearchError(() -> connector().syncJobDelete(d -> d.connectorSyncJobId(jobId))).status());

        connector().delete(d -> d.connectorId(connectorId).hard(true).deleteSyncJobs(true));
        assertNull(stored(JOBS, second));
    }

    @Test
    void claimsASyncJobUpdatesItsStatsChecksItInAndFailsIt() throws Throwable {
        String connectorId = unique("worker");
        connector().put(p -> p.connectorId(connectorId).indexName(unique("search")).serviceType("mongodb"));
        String jobId = connector().syncJobPost(s -> s.id(connectorId).jobType(SyncJobType.Full)).id();

        // The client declares the answers of claim, update_stats, check_in and error as empty
        // objects; Elasticsearch answers {"result":"updated"} (see callWithUndeclaredAnswer).
        callWithUndeclaredAnswer(() -> connector().syncJobClaim(c -> c.connectorSyncJobId(jobId)
                .workerHostname("java-worker").syncCursor(JsonData.of(Map.of("page", 1)))));
        ElasticsearchException claimAgain = elasticsearchError(() -> connector().syncJobClaim(c -> c
                .connectorSyncJobId(jobId).workerHostname("other-worker")));
        assertEquals(400, claimAgain.status());
        assertEquals("status_exception", claimAgain.error().type());

        callWithUndeclaredAnswer(() -> connector().syncJobUpdateStats(s -> s.connectorSyncJobId(jobId)
                .deletedDocumentCount(1).indexedDocumentCount(10).indexedDocumentVolume(100).totalDocumentCount(12)
                .metadata("batch", JsonData.of(1))));
        callWithUndeclaredAnswer(() -> connector().syncJobCheckIn(c -> c.connectorSyncJobId(jobId)));

        SyncJobGetResponse job = connector().syncJobGet(g -> g.connectorSyncJobId(jobId));
        assertEquals(SyncStatus.InProgress, job.status());
        assertEquals("java-worker", job.workerHostname());
        assertNotNull(job.startedAt());
        assertNotNull(job.lastSeen());
        assertEquals(1, job.connector().syncCursor().toJson().asJsonObject().getInt("page"));
        assertEquals(1, job.deletedDocumentCount());
        assertEquals(10, job.indexedDocumentCount());
        assertEquals(100, job.indexedDocumentVolume());
        assertEquals(12, job.totalDocumentCount());
        assertEquals(1, job.metadata().get("batch").to(Integer.class));

        assertEquals(Result.Updated, connector().syncJobCancel(c -> c.connectorSyncJobId(jobId)).result());
        assertEquals(SyncStatus.Canceling, connector().syncJobGet(g -> g.connectorSyncJobId(jobId)).status());
        callWithUndeclaredAnswer(() -> connector().syncJobError(e -> e.connectorSyncJobId(jobId).error("disk full")));
        job = connector().syncJobGet(g -> g.connectorSyncJobId(jobId));
        assertEquals(SyncStatus.Error, job.status());
        assertEquals("disk full", job.error());
        ElasticsearchException afterError = elasticsearchError(() -> connector().syncJobCancel(c -> c.connectorSyncJobId(jobId)));
        assertEquals(400, afterError.status());
        assertEquals("status_exception", afterError.error().type());

        String missing = unique("missing-job");
        for (ElasticsearchException error : List.of(
                elasticsearchError(() -> connector().syncJobCheckIn(c -> c.connectorSyncJobId(missing))),
                elasticsearchError(() -> connector().syncJobClaim(c -> c.connectorSyncJobId(missing).workerHostname("h"))),
                elasticsearchError(() -> connector().syncJobError(e -> e.connectorSyncJobId(missing).error("e"))),
                elasticsearchError(() -> connector().syncJobUpdateStats(s -> s.connectorSyncJobId(missing)
                        .deletedDocumentCount(0).indexedDocumentCount(0).indexedDocumentVolume(0))),
                elasticsearchError(() -> connector().syncJobCancel(c -> c.connectorSyncJobId(missing))))) {
            assertEquals(404, error.status());
            assertEquals("resource_not_found_exception", error.error().type());
        }

        connector().delete(d -> d.connectorId(connectorId).hard(true).deleteSyncJobs(true));
        assertNull(stored(JOBS, jobId));
    }

    private GetConnectorResponse read(String connectorId) throws IOException {
        return connector().get(g -> g.connectorId(connectorId));
    }
}
