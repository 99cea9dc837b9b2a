export {};
//# sourceMappingURL=routes-types.js.map