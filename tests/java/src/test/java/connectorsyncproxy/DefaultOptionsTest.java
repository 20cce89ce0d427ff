package connectorsyncproxy;

/** The connector methods with the client's default options. */
class DefaultOptionsTest extends ConnectorMethods {
    @Override
    boolean compression() {
        return false;
    }
}
