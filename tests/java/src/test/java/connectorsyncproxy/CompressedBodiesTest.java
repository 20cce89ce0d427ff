package connectorsyncproxy;

import org.junit.jupiter.api.condition.EnabledIfEnvironmentVariable;

/**
 * The connector methods with {@code useCompression(true)}: gzip request bodies, sent chunked.
 * Run only with CSP_CLIENTS_WIRE_OPTIONS=1 until the service decompresses request bodies.
 */
@EnabledIfEnvironmentVariable(named = "CSP_CLIENTS_WIRE_OPTIONS", matches = "1")
class CompressedBodiesTest extends ConnectorMethods {
    @Override
    boolean compression() {
        return true;
    }
}
