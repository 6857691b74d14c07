import { Module } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { HttpRequestMetrics } from './http-request-metrics';
import { PropagationMetrics } from './propagation-metrics';

/** Metrics about the service as a whole (requests, propagation) that no single library owns. */
@Module({
  imports: [DiscoveryModule],
  providers: [HttpRequestMetrics, PropagationMetrics],
})
export class ObservabilityModule {}
