/**
 * Services that the components of one engine share: a feature pipeline computed once per cycle
 * for every strategy and exit rule that reads it, a cache of venue metadata. One registry per
 * engine, handed to every component through its setup context, so two engines in one process
 * (an optimizer running parameter sets side by side) never share a service and no plugin needs
 * module-level state.
 */
export interface SharedServices {
  /**
   * The service registered under `key`, created by `create` on first use. Keys are namespaced by
   * the package that owns the service (`@perpkit/features:hub`); every user of a key must expect
   * the same type.
   */
  use<Service>(key: string, create: () => Service): Service;
  /** The service under `key`, if one was created. */
  get<Service>(key: string): Service | undefined;
}

/** The in-process `SharedServices` of one engine. */
export class ServiceRegistry implements SharedServices {
  private readonly services = new Map<string, unknown>();

  use<Service>(key: string, create: () => Service): Service {
    if (this.services.has(key)) return this.services.get(key) as Service;
    const service = create();
    this.services.set(key, service);
    return service;
  }

  get<Service>(key: string): Service | undefined {
    return this.services.get(key) as Service | undefined;
  }
}
