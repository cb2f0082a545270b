// Echo handler for bench/runtime: returns its event, as build/bin/echo-bootstrap does.
exports.handler = async (event) => event;
