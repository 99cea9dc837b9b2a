/**
 * The Driver contract (STYLE G2: drivers/ declares it, bridge/ implements it),
 * after libnetwork's driverapi: the controller owns the model and IPAM; a
 * driver turns it into kernel objects.
 */
export {};
//# sourceMappingURL=driver.js.map