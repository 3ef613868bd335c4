package config

// ZooKeeper authentication keys (Storm's names, issue 14). A daemon adds
// storm.zookeeper.auth.scheme/payload to its session; a topology's workers
// add storm.zookeeper.topology.auth.scheme/payload; storm.zookeeper.superACL
// ("scheme:id") is the identity that keeps full access to what workers write.
const (
	StormZookeeperAuthScheme          = "storm.zookeeper.auth.scheme"
	StormZookeeperAuthPayload         = "storm.zookeeper.auth.payload"
	StormZookeeperTopologyAuthScheme  = "storm.zookeeper.topology.auth.scheme"
	StormZookeeperTopologyAuthPayload = "storm.zookeeper.topology.auth.payload"
	StormZookeeperSuperACL            = "storm.zookeeper.superACL"
)
