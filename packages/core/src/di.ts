// tsyringe reads decorator metadata through the Reflect metadata API, which this import adds; it must load before
// tsyringe does. Every file of this package takes tsyringe from here so the order always holds.
import 'reflect-metadata'

export { Lifecycle, container as rootContainer, inject, injectAll, injectable, instanceCachingFactory, instancePerContainerCachingFactory } from 'tsyringe'
export type { DependencyContainer, InjectionToken } from 'tsyringe'
