//! AMQP adapter: topology, consumers, publisher. SKELETON, being built (issue #4).
