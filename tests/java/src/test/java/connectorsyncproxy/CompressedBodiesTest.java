package connectorsyncproxy;


/**
 * The connector methods with {@code useCompression(true)}: gzip request bodies, sent chunked.
 */
class CompressedBodiesTest extends ConnectorMethods {
    @Override
    boolean compression() {
        return true;
    }
}
