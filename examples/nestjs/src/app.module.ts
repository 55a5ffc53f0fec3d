import { Module, type DynamicModule } from '@nestjs/common';
import type { Registry } from '@spectator/core';
import { SpectatorModule } from '@spectator/nestjs';
import {
  HealthController,
  OrdersController,
  ReportsController,
  UsersController,
} from './shop.controller';
import { ShopService } from './shop.service';

@Module({})
export class AppModule {
  /**
   * The app, recording every request (but /health) into `registry` (default: the
   * process-global `GlobalRegistry`, which publishes to SPECTATOR_URI).
   */
  static register(options: { registry?: Registry } = {}): DynamicModule {
    return {
      module: AppModule,
      imports: [
        SpectatorModule.forRoot({
          exclude: ['/health'],
          ...(options.registry === undefined ? {} : { registry: options.registry }),
        }),
      ],
      controllers: [UsersController, OrdersController, ReportsController, HealthController],
      providers: [ShopService],
    };
  }
}
