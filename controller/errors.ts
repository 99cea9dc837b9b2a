/**
 * Controller errors (L1), with the HTTP classes libnetwork's marker
 * interfaces map to.
 */
import { SandnsError } from '../common/errors.js';

/** No network with that name or id (404). */
export class NetworkNotFoundError extends SandnsError {
  constructor(ref: string) {
    super('ERR_NETWORK_NOT_FOUND', `no such network: ${ref} (see "sandns network ls")`, 404, { details: { network: ref } });
    this.name = 'NetworkNotFoundError';
  }
}

/** A reference that is a prefix of several networks' ids (400): the caller gives more of the id, or the name. */
export class NetworkAmbiguousError extends SandnsError {
  constructor(ref: string, matches: number) {
    super('ERR_NETWORK_AMBIGUOUS', `network ${ref} is ambiguous: ${matches} network ids start with it; give more of the id, or the name`, 400, { details: { network: ref, matches } });
    this.name = 'NetworkAmbiguousError';
  }
}

/** A network with that name exists already (409). */
export class NetworkExistsError extends SandnsError {
  constructor(name: string) {
    super('ERR_NETWORK_EXISTS', `network with name ${name} already exists`, 409, { details: { network: name } });
    this.name = 'NetworkExistsError';
  }
}

/** The network still has endpoints (403). */
export class NetworkActiveEndpointsError extends SandnsError {
  constructor(name: string, count: number) {
    super('ERR_NETWORK_ACTIVE_ENDPOINTS', `network ${name} has ${count} active endpoint(s): disconnect them first`, 403, {
      details: { network: name, endpoints: count },
    });
    this.name = 'NetworkActiveEndpointsError';
  }
}

/** The subnet overlaps another network's (409). */
export class SubnetOverlapError extends SandnsError {
  constructor(subnet: string, other: string) {
    super('ERR_NETWORK_SUBNET_OVERLAP', `subnet ${subnet} overlaps ${other}: choose another --subnet`, 409, {
      details: { subnet, other },
    });
    this.name = 'SubnetOverlapError';
  }
}

/** No endpoint with that name or id (404). */
export class EndpointNotFoundError extends SandnsError {
  constructor(ref: string, network: string) {
    super('ERR_ENDPOINT_NOT_FOUND', `no endpoint ${ref} on network ${network}`, 404, { details: { endpoint: ref, network } });
    this.name = 'EndpointNotFoundError';
  }
}

/** An endpoint with that name exists on the network already (409). */
/** The MAC address asked for is another endpoint's on the same network (409): two would break its layer 2. */
export class MacAddressInUseError extends SandnsError {
  constructor(mac: string, holder: string, network: string) {
    super('ERR_ENDPOINT_MAC_IN_USE', `MAC address ${mac} is endpoint ${holder}'s on network ${network} already: give another, or none (the kernel picks one)`, 409, {
      details: { macAddress: mac, endpoint: holder, network },
    });
    this.name = 'MacAddressInUseError';
  }
}

export class EndpointExistsError extends SandnsError {
  constructor(name: string, network: string) {
    super('ERR_ENDPOINT_EXISTS', `endpoint with name ${name} already exists in network ${network}`, 409, {
      details: { endpoint: name, network },
    });
    this.name = 'EndpointExistsError';
  }
}

/** The endpoint is joined already (400, as libnetwork). */
export class EndpointAlreadyJoinedError extends SandnsError {
  constructor(name: string, sandbox: string) {
    super('ERR_ENDPOINT_ALREADY_JOINED', `endpoint ${name} is already joined to sandbox ${sandbox}`, 400, {
      details: { endpoint: name, sandbox },
    });
    this.name = 'EndpointAlreadyJoinedError';
  }
}

/** The endpoint is not joined to that sandbox (400). */
export class EndpointNotJoinedError extends SandnsError {
  constructor(name: string, sandbox: string) {
    super('ERR_ENDPOINT_NOT_JOINED', `endpoint ${name} is not joined to sandbox ${sandbox}`, 400, {
      details: { endpoint: name, sandbox },
    });
    this.name = 'EndpointNotJoinedError';
  }
}

/** The endpoint is still joined (403). */
export class EndpointActiveError extends SandnsError {
  constructor(name: string, sandbox: string) {
    super('ERR_ENDPOINT_ACTIVE', `endpoint ${name} is joined to sandbox ${sandbox}: leave first`, 403, {
      details: { endpoint: name, sandbox },
    });
    this.name = 'EndpointActiveError';
  }
}

/** No sandbox with that id (404). */
export class SandboxNotFoundError extends SandnsError {
  constructor(ref: string) {
    super('ERR_SANDBOX_NOT_FOUND', `no such sandbox: ${ref} (see "sandns sandbox ls")`, 404, { details: { sandbox: ref } });
    this.name = 'SandboxNotFoundError';
  }
}

/** A sandbox with that id exists already (409). */
export class SandboxExistsError extends SandnsError {
  constructor(id: string) {
    super('ERR_SANDBOX_EXISTS', `sandbox ${id} already exists`, 409, { details: { sandbox: id } });
    this.name = 'SandboxExistsError';
  }
}

/** The sandbox already has an endpoint on that network (409). */
export class AlreadyOnNetworkError extends SandnsError {
  constructor(sandbox: string, network: string) {
    super('ERR_SANDBOX_ALREADY_ON_NETWORK', `sandbox ${sandbox} is already connected to network ${network}`, 409, {
      details: { sandbox, network },
    });
    this.name = 'AlreadyOnNetworkError';
  }
}

/** The controller is closed. */
export class ControllerClosedError extends SandnsError {
  constructor() {
    super('ERR_CONTROLLER_CLOSED', 'the controller is closed', 503);
    this.name = 'ControllerClosedError';
  }
}

/** The sandbox's key is not set late: it was created with its namespace (400). */
export class SandboxNotExternalError extends SandnsError {
  constructor(sandbox: string) {
    super('ERR_SANDBOX_NOT_EXTERNAL', `sandbox ${sandbox} was not created with --external: its namespace cannot be set or released`, 400, {
      details: { sandbox },
    });
    this.name = 'SandboxNotExternalError';
  }
}

/** The sandbox has a key already (409). */
export class SandboxKeySetError extends SandnsError {
  constructor(sandbox: string, path: string) {
    super('ERR_SANDBOX_KEY_SET', `sandbox ${sandbox} is attached to ${path} already: release it first`, 409, {
      details: { sandbox, netnsPath: path },
    });
    this.name = 'SandboxKeySetError';
  }
}

/**
 * The sandbox has no network namespace yet: it was created `external` and its
 * key is not set (or was released), so nothing can be asked from inside it (409).
 */
export class SandboxNoKeyError extends SandnsError {
  constructor(sandbox: string) {
    super('ERR_SANDBOX_NO_KEY', `sandbox ${sandbox} has no network namespace yet (created --external, its key not set): set its key first (the OCI hook at container start, or PUT /sandboxes/${sandbox}/key)`, 409, {
      details: { sandbox },
    });
    this.name = 'SandboxNoKeyError';
  }
}

/**
 * A conditional key release (`DELETE /sandboxes/:name/key?netnsPath=P`, what the OCI hook's poststop sends) named a
 * key the sandbox does not have: another container holds it, and it stays (409).
 */
export class SandboxKeyMismatchError extends SandnsError {
  constructor(sandbox: string, path: string, asked: string) {
    super('ERR_SANDBOX_KEY_MISMATCH', `sandbox ${sandbox} is attached to ${path}, not ${asked}: that key is another container's, and it stays`, 409, {
      details: { sandbox, netnsPath: path, asked },
    });
    this.name = 'SandboxKeyMismatchError';
  }
}

/** The interface name asked for is taken in the sandbox (409). */
export class IfnameInUseError extends SandnsError {
  constructor(sandbox: string, ifname: string) {
    super('ERR_SANDBOX_IFNAME_IN_USE', `sandbox ${sandbox} has an interface ${ifname} already: ask for another name`, 409, {
      details: { sandbox, ifname },
    });
    this.name = 'IfnameInUseError';
  }
}

/** A dual-stack network's endpoint joining a sandbox whose namespace has IPv6 disabled (409; the kernel would refuse its IPv6 address). */
export class SandboxIpv6DisabledError extends SandnsError {
  constructor(sandbox: string, network: string) {
    super(
      'ERR_SANDBOX_IPV6_DISABLED',
      `sandbox ${sandbox} has IPv6 disabled in its namespace (no ::1 on its loopback) and network ${network} gives it an IPv6 address: `
        + 'enable IPv6 there (net.ipv6.conf.all.disable_ipv6=0) or connect it to an IPv4-only network',
      409,
      { details: { sandbox, network } },
    );
    this.name = 'SandboxIpv6DisabledError';
  }
}

/** A conditional delete found the sandbox still connected (409). */
export class SandboxInUseError extends SandnsError {
  constructor(sandbox: string, networks: readonly string[]) {
    super('ERR_SANDBOX_IN_USE', `sandbox ${sandbox} is still connected to ${networks.join(', ')}: disconnect it first, or delete it without ifEmpty`, 409, {
      details: { sandbox, networks },
    });
    this.name = 'SandboxInUseError';
  }
}

/** Another sandbox manages that file already (409, L5, L7). */
/** The namespace given as a sandbox's key is another sandbox's already (409): one namespace is one sandbox. */
export class SandboxNetnsInUseError extends SandnsError {
  constructor(path: string, holder: string) {
    super('ERR_SANDBOX_NETNS_IN_USE', `the network namespace ${path} is sandbox ${holder}'s already: one namespace has one sandbox (connect ${holder} to more networks instead, or give another namespace)`, 409, { details: { netnsPath: path, sandbox: holder } });
    this.name = 'SandboxNetnsInUseError';
  }
}

export class SandboxFileInUseError extends SandnsError {
  constructor(path: string) {
    super('ERR_SANDBOX_FILE_IN_USE', `another sandbox manages ${path} already: give another path`, 409, { details: { path } });
    this.name = 'SandboxFileInUseError';
  }
}

