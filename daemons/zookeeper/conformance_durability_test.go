package zookeeper_test

// childServerEnv, when set, makes the test binary run an embedded server in
// this process instead of the tests (see runChildServer).
const childServerEnv = "LOCALSTORM_ZK_CHILD_SERVER"
