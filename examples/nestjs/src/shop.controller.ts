import { Body, Controller, Get, HttpCode, Param, Post } from '@nestjs/common';
import { ShopService, type Order } from './shop.service';

// Constructor injection by class: resolved from the metadata tsc emits (emitDecoratorMetadata).

@Controller('api/users')
export class UsersController {
  constructor(private readonly shop: ShopService) {}

  @Get(':id')
  find(@Param('id') id: string) {
    return this.shop.findUser(id);
  }

  @Get(':id/orders/:orderId')
  findOrder(@Param('id') id: string, @Param('orderId') orderId: string) {
    return this.shop.findOrder(id, orderId);
  }
}

@Controller('api/orders')
export class OrdersController {
  constructor(private readonly shop: ShopService) {}

  @Post()
  place(@Body() body: { userId?: unknown; items?: unknown }): Promise<Order> {
    return this.shop.placeOrder(body ?? {});
  }

  @Post(':orderId/refund')
  @HttpCode(200)
  refund(@Param('orderId') orderId: string): Promise<never> {
    return this.shop.refund(orderId);
  }
}

@Controller('api/reports')
export class ReportsController {
  constructor(private readonly shop: ShopService) {}

  @Get(':year')
  build(@Param('year') year: string) {
    return this.shop.buildReport(year);
  }
}

@Controller('health')
export class HealthController {
  @Get()
  check(): string {
    return 'ok';
  }
}
